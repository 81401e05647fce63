"""A sale reads its consumer's history with the buyers only when an order it may go to
dedupes (``flows.picks.any_dedupes``): a marketplace without dedup windows saves the read."""

from __future__ import annotations

from pingtree.config.compile import compile_config
from pingtree.config.parse import parse_config
from pingtree.flows.picks import any_dedupes
from pingtree.store.snapshot import Snapshot
from tests.api.market import buyer, marketplace, order


def test_only_an_order_with_a_dedup_window_needs_the_history() -> None:
    snapshot = Snapshot.build(
        1,
        compile_config(
            parse_config(
                marketplace(
                    [
                        buyer("picky", order("picky", "30.00", dedup_days=30)),
                        buyer("other", order("other", "10.00")),
                    ]
                )
            )
        ),
    )
    assert any_dedupes(snapshot, ["other", "picky"])
    assert not any_dedupes(snapshot, ["other"])
    assert not any_dedupes(snapshot, [])
    assert not any_dedupes(snapshot, ["removed since the ping"])
