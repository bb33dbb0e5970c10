"""Where a webhook may be sent (SSRF): an https URL whose host resolves only to globally routable addresses (the
`ipaddress` module's is_global, never multicast, unspecified, reserved or site-local; an IPv6 address that
carries an IPv4 one — mapped, NAT64, 6to4, Teredo — is judged by that one too), unless the address is in a
network the settings allow (the tests allow loopback, and plain http there). Checked when the endpoint is
registered and again before each delivery (a name may resolve elsewhere by then)."""

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


# NAT64 (RFC 6052, and the local-use prefix of RFC 8215): the last 32 bits are the IPv4 address reached.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def _unwrapped(address: IpAddress) -> IpAddress:
    # An IPv4-mapped or NAT64 address is that IPv4 address, reached another way: it is judged as that address.
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if any(address in prefix for prefix in _NAT64):
            return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address


def _routable(address: IpAddress) -> bool:
    # is_global alone is not enough on Python 3.11: it calls multicast and site-local (fec0::/10) addresses
    # global, and it knows nothing of the IPv4 address that a 6to4 or Teredo address carries, which is where
    # such a packet goes. Each carried address must be global too.
    if not address.is_global or address.is_multicast or address.is_unspecified or address.is_reserved:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return True
    if address.is_site_local:
        return False
    carried = [address.sixtofour] if address.sixtofour is not None else []
    if address.teredo is not None:
        carried += list(address.teredo)  # (server, client)
    return all(_routable(inner) for inner in carried if inner is not None)


def _public(address: IpAddress) -> bool:
    return _routable(_unwrapped(address))


def check_address(address: IpAddress, allowed: list[IpNetwork]) -> None:
    if _public(address):
        return
    # The settings' networks are taken literally: allowing 127.0.0.0/8 does not let ::ffff:127.0.0.1 in.
    if any(address in network for network in allowed):
        return
    raise TargetRefused(f"{address} is not a globally routable address")


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
