"""Each worker's PostgreSQL pool (``Settings.pool_sizes``): its share of the server's
connection budget, kept open, so a busy worker never opens and closes connections."""

from __future__ import annotations

import pytest

from pingtree.settings import Settings


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 8, 80, 200])
def test_the_workers_pools_together_stay_within_the_budget(workers: int):
    settings = Settings(workers=workers, database_connections=80)
    size, overflow = settings.pool_sizes()
    share = max(2, 80 // workers)
    assert (size, overflow) == (min(30, share), 0)
    if workers <= 40:  # past 40 workers each still gets the 2 a request and its writer need
        assert workers * (size + overflow) <= 80


def test_a_worker_keeps_every_connection_it_opens():
    # a connection opened beyond the pool size is closed when given back: under a load
    # above it, new PostgreSQL backends all along (bench/README.md, "Sale")
    assert Settings(workers=1).pool_sizes() == (30, 0)
    assert Settings(workers=4, database_connections=100).pool_sizes() == (25, 0)


def test_a_set_pool_size_leaves_the_rest_of_the_share_as_overflow():
    assert Settings(workers=2, database_pool_size=10).pool_sizes() == (10, 30)
    assert Settings(workers=2, database_pool_size=10, database_max_overflow=5).pool_sizes() == (
        10,
        5,
    )
    assert Settings(workers=1, database_max_overflow=3).pool_sizes() == (30, 3)
