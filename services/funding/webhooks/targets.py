"""Where a webhook may be sent (SSRF): an https URL whose host resolves only to globally routable addresses (the
`ipaddress` module's is_global, never multicast, unspecified, reserved or site-local; an IPv6 address that
carries an IPv4 one — mapped, NAT64, 6to4, Teredo — is judged by that one too), unless the address is in a
network the settings allow (the tests allow loopback, and plain http there). Checked when the endpoint is
registered and again at each delivery, whose request then goes to the very address checked (`pinned`): the name
is looked up once, so it cannot point elsewhere between the check and the connection (DNS rebinding)."""

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

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
    """(scheme, host, port) of a URL a webhook may be sent to: http(s), a host, no credentials. The host is the
    ASCII form that httpx sends (IDNA 2008), so that the name looked up is the name the request carries."""
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
        host = httpx.URL(url).raw_host.decode("ascii")
    except (ValueError, httpx.InvalidURL) as exc:
        raise TargetRefused("an invalid host or port") from exc
    return parts.scheme, host, port


def _literal(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def lookup(host: str, port: int) -> list[IpAddress]:
    """The addresses a name resolves to (the system's resolver; the tests put a stub here)."""
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # no such name, or no name at all (IDNA refuses it)
        raise TargetRefused(f"{host!r} does not resolve") from exc
    # getaddrinfo may add a scope to an IPv6 address ("fe80::1%eth0"): the address is what comes before.
    return [ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers]


async def resolve(host: str, port: int) -> list[IpAddress]:
    literal = _literal(host)
    return [literal] if literal is not None else await lookup(host, port)


async def _checked(url: str, allowed: list[IpNetwork]) -> tuple[str, str, list[IpAddress]]:
    scheme, host, port = split(url)
    addresses = await resolve(host, port)
    if not addresses:
        raise TargetRefused(f"{host!r} does not resolve")
    for address in addresses:
        check_address(address, allowed)
    if scheme == "http" and not all(any(a in network for network in allowed) for a in addresses):
        raise TargetRefused("https is required")
    return scheme, host, addresses


async def check_target(url: str, allowed: list[IpNetwork]) -> None:
    """TargetRefused unless every address the URL's host resolves to may be reached; plain http only inside an
    allowed network."""
    await _checked(url, allowed)


@dataclass(frozen=True)
class Pinned:
    """A delivery's request, sent to the address that was checked: the URL names that address; the Host header
    and TLS (SNI and the certificate's check, through httpcore's `sni_hostname`) still name the endpoint's host."""

    url: str
    host_header: str
    extensions: dict[str, Any] = field(default_factory=dict)


async def pinned(url: str, allowed: list[IpNetwork]) -> Pinned:
    """The URL checked (every address it resolves to) and pinned to the first of them; TargetRefused otherwise."""
    _, host, addresses = await _checked(url, allowed)
    original = httpx.URL(url)
    host_header = httpx.Request("POST", original).headers["host"]
    extensions = {} if _literal(host) is not None else {"sni_hostname": host}
    return Pinned(str(original.copy_with(host=str(addresses[0]))), host_header, extensions)


def delivery_client(verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """The worker's HTTP client. Redirects are not followed (a 3xx is a failed attempt, never a second target).
    No proxy from the environment: the connection must go to the pinned address itself. No keep-alive: its pool
    is keyed by the address, so a TLS connection checked for one endpoint's name would carry another's requests
    to the same address. `verify`: the system's authorities (the tests bring their own)."""
    return httpx.AsyncClient(verify=verify, follow_redirects=False, trust_env=False,
                             limits=httpx.Limits(max_keepalive_connections=0))
