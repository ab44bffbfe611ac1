"""Whose address the per-IP limits count behind reverse proxies (web.forwarded), and its settings."""

from __future__ import annotations

import pytest

from web.forwarded import MAX_HOPS, client_address, parse_trusted_proxies
from web.settings import SettingsError, load_settings

LOCAL_PROXIES = parse_trusted_proxies("127.0.0.1, ::1, 10.0.0.0/8")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # nginx on the same host appended the real client to what the client wrote.
        ("127.0.0.1", ["6.6.6.6, 203.0.113.7"], "203.0.113.7"),
        ("127.0.0.1", ["1.1.1.1, 2.2.2.2, 3.3.3.3, 203.0.113.7"], "203.0.113.7"),
        # A load balancer (10.x) in front of nginx: both hops are ours, the client is left of them.
        ("127.0.0.1", ["6.6.6.6, 203.0.113.7, 10.1.2.3"], "203.0.113.7"),
        # Several header lines count as one list, in order.
        ("127.0.0.1", ["6.6.6.6", "203.0.113.7, 10.1.2.3"], "203.0.113.7"),
        # A client that is not one of our proxies: its header is ignored entirely.
        ("198.51.100.4", ["203.0.113.7"], "198.51.100.4"),
        ("198.51.100.4", ["127.0.0.1"], "198.51.100.4"),
        # No header, or an empty one, from a proxy: the proxy itself (a health check).
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", [""], "127.0.0.1"),
        # Only our own hops: the left-most of them.
        ("127.0.0.1", ["10.9.9.9, 10.1.2.3"], "10.9.9.9"),
        # IPv6, written plain or in brackets; IPv4 seen through a dual-stack socket.
        ("::1", ["6.6.6.6, 2001:db8::7"], "2001:db8::7"),
        ("::1", ["[2001:db8::7]"], "2001:db8::7"),
        ("::ffff:127.0.0.1", ["203.0.113.7"], "203.0.113.7"),
        ("127.0.0.1", ["::ffff:203.0.113.7"], "203.0.113.7"),
        # Garbage stops the walk at the last trusted hop: nothing left of it can be believed.
        ("127.0.0.1", ["203.0.113.7, not-an-ip"], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.7, 10.1.2.3:8080"], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.7, unknown, 10.1.2.3"], "10.1.2.3"),
        ("127.0.0.1", ["203.0.113.7,, 10.1.2.3"], "10.1.2.3"),
        ("127.0.0.1", ["1" * 5000], "127.0.0.1"),
        # Not an IP socket at all (test clients, unix sockets): passed on, cut to the column.
        ("testclient", ["203.0.113.7"], "testclient"),
        ("x" * 100, [], "x" * 45),
    ],
)
def test_client_is_the_right_most_address_that_is_not_our_proxy(peer, forwarded_for, expected):
    assert client_address(peer, forwarded_for, LOCAL_PROXIES) == expected


def test_without_trusted_proxies_the_header_means_nothing():
    assert client_address("127.0.0.1", ["203.0.113.7"], ()) == "127.0.0.1"


def test_a_forged_chain_of_our_own_addresses_is_read_only_so_far():
    """A client cannot make us walk a megabyte of hops, nor past MAX_HOPS of them."""
    forged = ", ".join(["203.0.113.66"] + ["10.0.0.1"] * (MAX_HOPS + 5)) + ", 10.0.0.2"
    assert client_address("127.0.0.1", [forged], LOCAL_PROXIES) == "10.0.0.1"
    huge = "6.6.6.6, " * 200_000 + "203.0.113.7"
    assert client_address("127.0.0.1", [huge], LOCAL_PROXIES) == "203.0.113.7"


def test_trusted_proxies_setting_takes_addresses_and_networks():
    settings = load_settings(
        {"ADUAN_TRUSTED_PROXIES": " 127.0.0.1 , ::1,10.0.0.0/8, 172.16.0.1/12 "}
    )
    assert [str(n) for n in settings.trusted_proxy_networks] == [
        "127.0.0.1/32",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
    ]
    assert load_settings({}).trusted_proxy_networks == ()


@pytest.mark.parametrize("raw", ["localhost", "10.0.0.0/33", "127.0.0.1;10.0.0.1"])
def test_a_mistyped_proxy_list_stops_start_up(raw):
    with pytest.raises(SettingsError, match="ADUAN_TRUSTED_PROXIES"):
        load_settings({"ADUAN_TRUSTED_PROXIES": raw})


def test_the_old_left_most_setting_is_refused_with_the_new_name():
    with pytest.raises(SettingsError, match="ADUAN_TRUSTED_PROXIES"):
        load_settings({"ADUAN_TRUST_FORWARDED_FOR": "true"})
    # An old .env with the old default changes nothing and may stay as it is.
    assert load_settings({"ADUAN_TRUST_FORWARDED_FOR": "false"}).trusted_proxies == ""
