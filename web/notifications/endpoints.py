"""Where the server may send Web Push messages: a push service on the public internet, never
this machine, the cloud metadata service or the city's internal network (SSRF).

A browser hands us the endpoint URL, so anyone signed in can make it point anywhere. It is
checked when the subscription is stored and again before every send (DNS can change in between).
The send connects to exactly the address that was checked, so a name that resolves to a public
address for the check and to 127.0.0.1 for the connection (DNS rebinding) gets nowhere, and
redirects are never followed.

``ADUAN_PUSH_ALLOWED_HOSTS``, when set, replaces the address rule with a list of push services.
"""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

NAT64 = ip_network("64:ff9b::/96")
# Carry an IPv4 address in their last 32 bits: IPv4-translated (SIIT, ::ffff:0:a.b.c.d) and the
# deprecated IPv4-compatible (::a.b.c.d) forms; judged by that address.
IPV4_TRANSLATED = ip_network("::ffff:0:0:0/96")
IPV4_COMPATIBLE = ip_network("::/96")
# Local-use NAT64 (RFC 8215): translates to whatever the operator chose, the internal network too.
LOCAL_NAT64 = ip_network("64:ff9b:1::/48")


class EndpointRefused(ValueError):
    """The endpoint is not a push service we may contact."""


class EndpointUnresolved(OSError):
    """The endpoint's name does not resolve right now (worth another try later)."""


def allowed_hosts(setting: str) -> tuple[str, ...]:
    """``fcm.googleapis.com, *.push.services.mozilla.com`` -> lower-case names; empty: none."""
    return tuple(host.strip().lower().rstrip(".") for host in setting.split(",") if host.strip())


def host_listed(host: str, allowed: tuple[str, ...]) -> bool:
    host = host.lower().rstrip(".")
    for entry in allowed:
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and host != entry[2:]:
                return True
        elif host == entry:
            return True
    return False


def is_public(address: IPv4Address | IPv6Address) -> bool:
    """Globally routable unicast only: no loopback, private, link-local (169.254.169.254),
    shared (100.64/10), multicast, reserved or unspecified addresses, in either family."""
    if isinstance(address, IPv6Address):
        # ::ffff:10.0.0.1, 2002:0a00:0001:: (6to4) and 64:ff9b::a00:1 (NAT64) carry an IPv4
        # address that a gateway connects to: judge that one.
        if address in LOCAL_NAT64:
            return False
        embedded = address.ipv4_mapped or address.sixtofour
        if any(address in net for net in (NAT64, IPV4_TRANSLATED, IPV4_COMPATIBLE)):
            embedded = IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            address = embedded
    return address.is_global and not address.is_multicast


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EndpointUnresolved(f"cannot resolve {host}: {exc}") from exc
    # Scope ids (fe80::1%eth0) are cut off: the address itself is what is judged.
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def _host_and_port(endpoint: str, allowed: tuple[str, ...]) -> tuple[str, int]:
    parts = urlsplit(endpoint)
    host = parts.hostname
    if not host:
        raise EndpointRefused("no host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise EndpointRefused("bad port") from exc
    if allowed and not host_listed(host, allowed):
        raise EndpointRefused(f"{host} is not in ADUAN_PUSH_ALLOWED_HOSTS")
    return host, port


def check_target(endpoint: str, allowed: tuple[str, ...]) -> None:
    """At subscribe time: a listed push service needs no lookup; otherwise as checked_address."""
    if allowed:
        _host_and_port(endpoint, allowed)
    else:
        checked_address(endpoint, allowed)


def checked_address(endpoint: str, allowed: tuple[str, ...]) -> str:
    """The one address to connect to for ``endpoint``; raises EndpointRefused or
    EndpointUnresolved. Blocking (DNS): call it from a worker thread."""
    host, port = _host_and_port(endpoint, allowed)
    if allowed:
        return resolve(host, port)[0]
    addresses = resolve(host, port)
    # Every address must be public: the resolver's order could otherwise pick a private one.
    for address in addresses:
        if not is_public(ip_address(address)):
            raise EndpointRefused(f"{host} resolves to a non-public address ({address})")
    return addresses[0]


class _PinnedConnection:
    """Connects to the checked address; TLS still verifies the certificate for the host name."""

    pinned_address = ""

    def _new_conn(self):
        name = self._dns_host
        self._dns_host = self.pinned_address
        try:
            return super()._new_conn()
        finally:
            self._dns_host = name


class _NoRedirects(requests.Session):
    def request(self, *args, **kwargs):
        kwargs["allow_redirects"] = False  # a 3xx is an answer (a refusal), not a new target
        return super().request(*args, **kwargs)


def pinned_session(address: str) -> requests.Session:
    """A requests session (for pywebpush) that only ever connects to ``address``, follows no
    redirects and ignores proxy variables (a proxy would resolve the name itself)."""
    http = type("PinnedHTTP", (_PinnedConnection, HTTPConnection), {"pinned_address": address})
    https = type("PinnedHTTPS", (_PinnedConnection, HTTPSConnection), {"pinned_address": address})
    http_pool = type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http})
    https_pool = type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https})
    adapter = HTTPAdapter(max_retries=0)
    adapter.poolmanager.pool_classes_by_scheme = {"http": http_pool, "https": https_pool}
    session = _NoRedirects()
    session.trust_env = False
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
