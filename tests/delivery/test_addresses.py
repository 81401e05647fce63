"""The address guard and IPv6 spellings of IPv4 addresses (issue 12): mapped, compatible,
NAT64, 6to4 and Teredo forms of loopback, private and link-local addresses are refused;
``send`` refuses them before anything leaves, against a real buyer on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from pingtree.delivery.client import AddressGuard, SendError, create_client, send
from pingtree.mockbuyer import EndpointConfig, MockBuyer

#: the test's only allow-list entry, as in the API tests and the demo
LOOPBACK = ("127.0.0.1",)


@pytest.mark.parametrize(
    "address",
    [
        # IPv4-mapped
        "::ffff:127.0.0.1",
        "::ffff:7f00:1",
        "::ffff:10.0.0.1",
        "::ffff:192.168.1.1",
        "::ffff:169.254.169.254",
        "::ffff:0.0.0.0",
        "::ffff:100.64.0.1",
        "::ffff:224.0.0.1",
        "::ffff:240.0.0.1",
        # IPv4-translated (SIIT)
        "::ffff:0:7f00:1",
        "::ffff:0:10.0.0.1",
        # IPv4-compatible (deprecated)
        "::127.0.0.1",
        "::10.0.0.1",
        "::169.254.169.254",
        "::2",
        # NAT64, well-known prefix
        "64:ff9b::127.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::10.1.2.3",
        "64:ff9b::172.16.0.1",
        "64:ff9b::169.254.169.254",
        "64:ff9b::0.0.0.0",
        # NAT64, local use: refused whatever it carries
        "64:ff9b:1::7f00:1",
        "64:ff9b:1::808:808",
        # 6to4: refused whatever it carries
        "2002:7f00:1::",
        "2002:a00:1::1",
        "2002:c0a8:101::1",
        "2002:a9fe:a9fe::1",
        "2002:808:808::1",
        # Teredo: refused whatever it carries (client 127.0.0.1, then 10.0.0.1, then public)
        "2001:0:4136:e378:8000:63bf:80ff:fffe",
        "2001:0:4136:e378:8000:63bf:f5ff:fffe",
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
        # and the plain ones still
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fec0::1",  # site-local, deprecated
        "ff02::1",
    ],
)
def test_ipv6_spellings_of_non_public_addresses_are_refused(address: str) -> None:
    assert AddressGuard(LOOPBACK).permits(address) is False


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "::ffff:93.184.216.34",  # mapped public
        "::ffff:0:93.184.216.34",  # translated public
        "64:ff9b::93.184.216.34",  # NAT64 of a public address: DNS64 gives every buyer so
        "64:ff9b::808:808",
        "2606:2800:220:1:248:1893:25c8:1946",
    ],
)
def test_public_addresses_stay_permitted(address: str) -> None:
    assert AddressGuard().permits(address) is True


def test_an_allow_list_entry_covers_what_it_names_in_its_own_family() -> None:
    assert AddressGuard(LOOPBACK).permits("127.0.0.1")
    assert not AddressGuard(LOOPBACK).permits("::ffff:127.0.0.1")
    assert AddressGuard(("::ffff:127.0.0.1",)).permits("::ffff:127.0.0.1")
    assert AddressGuard(("2002::/16",)).permits("2002:a00:1::1")
    assert AddressGuard(("64:ff9b::/96",)).permits("64:ff9b::10.1.2.3")


@pytest.mark.parametrize(
    "host", ["[::ffff:127.0.0.1]", "[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::]"]
)
def test_a_literal_ipv6_spelling_of_loopback_is_refused_by_its_message(host: str) -> None:
    with pytest.raises(SendError, match="not a public address") as info:
        AddressGuard(LOOPBACK).check_literal_host(host)
    assert (info.value.kind, info.value.sent) == ("connect", False)


@pytest.fixture
async def buyer() -> AsyncIterator[MockBuyer]:
    configs = {"ok": EndpointConfig.model_validate({"bid": {"kind": "fixed", "amount": "1"}})}
    async with MockBuyer(configs) as running:
        yield running


async def test_the_same_buyer_is_called_as_127_0_0_1_but_not_as_mapped_ipv6(
    buyer: MockBuyer,
) -> None:
    """With only 127.0.0.1 allowed, ``http://[::ffff:127.0.0.1]:PORT/`` (which the OS would
    deliver to the same listener) is refused before a byte leaves; the plain spelling is
    called."""
    async with create_client(allow=LOOPBACK) as client:
        answer = await send(client, "POST", buyer.ping_url("ok"), [], b"{}", timeout=2)
        assert answer.status == 200
        assert len(buyer.requests) == 1
        for host in ("[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[64:ff9b::127.0.0.1]"):
            url = buyer.ping_url("ok").replace("127.0.0.1", host)
            with pytest.raises(SendError, match="not a public address") as info:
                await send(client, "POST", url, [], b"{}", timeout=2)
            assert (info.value.kind, info.value.sent) == ("connect", False)
    assert len(buyer.requests) == 1
