"""Who is calling, by address, behind the proxies we trust (the gateway for the services, a TLS proxy for the
gateway): X-Forwarded-For walked from the right over every header line, the first hop that is not a trusted proxy
being the client. What a client writes further left is its own and never believed."""

import ipaddress
from collections.abc import Iterable

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def networks_of(cidrs: Iterable[str]) -> Networks:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


def parse_address(text: str) -> IpAddress | None:
    """An address in one spelling, or None: zone ids (`fe80::1%eth0`) are refused, as they would make one host
    countless keys; an IPv4-mapped IPv6 address is the IPv4 one."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id is not None:
            return None
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
    return address


def trusted(address: IpAddress, networks: Networks) -> bool:
    return any(address in network for network in networks)


def client_of(peer: str | None, forwarded_lines: Iterable[str], proxies: Networks) -> str | None:
    """The client's address in canonical form (None without a usable peer). A malformed hop stops the walk at the
    proxy that sent it; a chain of trusted proxies only is walked to its left end."""
    nearest = parse_address(peer) if peer else None
    if nearest is None or not proxies or not trusted(nearest, proxies):
        return str(nearest) if nearest is not None else None
    for hop in reversed([hop.strip() for line in forwarded_lines for hop in line.split(",")]):
        address = parse_address(hop)
        if address is None:
            break
        nearest = address
        if not trusted(address, proxies):
            break
    return str(nearest)
