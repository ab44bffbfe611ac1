"""Which address a request came from, behind reverse proxies the operator runs.

``X-Forwarded-For`` is a list that every proxy appends to, so only its right end can be believed:
the left-most entries are whatever the client wrote. Starting from the connection's peer, we walk
the list from the right while the hop we stand on is one of our own proxies, and stop at the first
address that is not. No framework imports: the rules are tested on their own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_HOPS = 16  # more proxies than this is a forged list, not a real chain
MAX_ENTRY = 64  # longest written form of an IPv6 address with brackets, and then some
MAX_RESULT = 45  # the audit log's IP columns


def parse_trusted_proxies(raw: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8, ::1"`` -> networks; ValueError names the entry that is wrong."""
    networks = []
    for entry in raw.split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an IP address or network") from exc
    return tuple(networks)


def parse_address(text: str) -> Address | None:
    """An IP address as proxies write it (``[v6]`` allowed); None for anything else."""
    text = text.strip()
    if not text or len(text) > MAX_ENTRY:
        return None
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: one client, one form.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, trusted: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in trusted)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: the right-most ``X-Forwarded-For`` hop that is not a trusted proxy.

    ``forwarded_for`` holds the header's values in arrival order (a client may send several).
    The header counts only when the peer itself is a trusted proxy. A malformed hop ends the walk
    at the last trusted hop: what lies to its left was written by nobody we trust.
    """
    current = parse_address(peer)
    if current is None:  # not an IP socket (tests, unix sockets): nothing to walk from
        return peer[:MAX_RESULT]
    if not trusted or not _trusted(current, trusted):
        return str(current)
    # Only the right end is read: a megabyte of forged hops costs no more than MAX_HOPS.
    hops = ",".join(forwarded_for).rsplit(",", MAX_HOPS)
    for raw in reversed(hops[-MAX_HOPS:]):
        hop = parse_address(raw)
        if hop is None:
            break
        current = hop
        if not _trusted(current, trusted):
            break
    return str(current)


def peer_is_trusted(peer: str, trusted: Sequence[Network]) -> bool:
    """Whether the connection comes from one of our own proxies."""
    address = parse_address(peer)
    return address is not None and _trusted(address, trusted)
