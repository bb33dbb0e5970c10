"""Where a webhook may be sent (SSRF): an https URL whose host resolves only to public addresses — never a private,
loopback, link-local, multicast or reserved one — unless the address is in a network the settings allow (the
tests allow loopback, and plain http there). Checked when the endpoint is registered and again before each
delivery (a name may resolve elsewhere by then)."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TargetRefused(ValueError):
    """Why a URL is no webhook target (English; the API words it in both languages)."""


def networks(allowed: list[str]) -> list[IpNetwork]:
    return [ipaddress.ip_network(network, strict=False) for network in allowed]


def _public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
                or address.is_reserved or address.is_unspecified)


def check_address(address: IpAddress, allowed: list[IpNetwork]) -> None:
    if not _public(address) and not any(address in network for network in allowed):
        raise TargetRefused(f"{address} is not a public address")


def split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL a webhook may be sent to: http(s), a host, no credentials."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "http://[::1" and the like
        raise TargetRefused("an invalid URL") from exc
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("an http(s) URL with a host")
    if parts.username or parts.password:
        raise TargetRefused("no credentials in the URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("an invalid port") from exc
    return parts.scheme, parts.hostname, port


async def resolve(host: str, port: int) -> list[IpAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # no such name, or no name at all (IDNA refuses it)
        raise TargetRefused(f"{host!r} does not resolve") from exc
    # getaddrinfo may add a scope to an IPv6 address ("fe80::1%eth0"): the address is what comes before.
    return [ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers]


async def check_target(url: str, allowed: list[IpNetwork]) -> None:
    """TargetRefused unless every address the URL's host resolves to may be reached; plain http only inside an
    allowed network."""
    scheme, host, port = split(url)
    addresses = await resolve(host, port)
    for address in addresses:
        check_address(address, allowed)
    if scheme == "http" and not all(any(a in network for network in allowed) for a in addresses):
        raise TargetRefused("https is required")
