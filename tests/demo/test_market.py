"""The demo marketplace applies as it ships, and each buyer URL has a mock endpoint."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit

from pingtree.config.apply import apply_config
from pingtree.config.compile import compile_config
from pingtree.demo.market import CAMPAIGNS, MOCK_BUYER_PLACEHOLDER, demo_document, mock_buyer_config
from pingtree.domain.orders import PricingKind
from pingtree.store.db import create_engine, session_factory
from pingtree.store.migrations import migrate

MOCK_URL = "http://127.0.0.1:45678"
NOW = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)


async def test_the_demo_configuration_applies_to_a_fresh_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    await migrate(url)
    engine = create_engine(url)
    try:
        sessions = session_factory(engine)
        diff = await apply_config(sessions, demo_document(MOCK_URL), NOW)
        created = {kind for kind, _ in diff.created}
        assert created == {"vertical", "supplier", "campaign", "buyer", "order"}
        # applying it again, as a demo on a kept data directory does, changes nothing
        again = await apply_config(sessions, demo_document(MOCK_URL), NOW)
        assert not again.changed
    finally:
        await engine.dispose()


def test_the_marketplace_has_what_the_demo_promises() -> None:
    config = compile_config(demo_document(MOCK_URL))
    assert set(config.verticals) == {"auto_insurance", "health_insurance"}
    assert [c.id for c in CAMPAIGNS] == list(config.campaigns)
    assert {c.max_sells for c in config.campaigns.values()} == {1, 3}
    assert len(config.buyers) == 8
    kinds = {order.pricing.kind for order in config.orders.values()}
    assert kinds == {PricingKind.FIXED, PricingKind.BID}
    # every order delivers to the mock buyers; bid orders ping them for a price
    assert set(config.deliveries) == set(config.orders)
    for order_id, order in config.orders.items():
        delivery = config.deliveries[order_id]
        assert (delivery.ping is not None) == (order.pricing.kind is PricingKind.BID)


def test_every_buyer_url_is_a_mock_endpoint_on_loopback() -> None:
    document = demo_document(MOCK_URL)
    endpoints = set(mock_buyer_config().endpoints)
    used = set()
    for buyer in document.buyers:
        for order in buyer.orders:
            assert order.delivery is not None
            for step in order.delivery.values():
                url = urlsplit(step["url"])
                assert f"{url.scheme}://{url.netloc}" == MOCK_URL
                used.add(url.path.split("/")[1])
    assert used == endpoints
    assert MOCK_BUYER_PLACEHOLDER not in str(document)
