"""A trace stores the orders its walk met; the others' lines are rebuilt when it is opened,
from the configuration version the ping ran on, kept after later changes (issue 18)."""

from __future__ import annotations

from tests.api.market import Market, buyer, marketplace, order


def test_an_old_trace_reads_by_the_configuration_it_ran_on(market: Market) -> None:
    market.apply(
        marketplace(
            [
                buyer("sunny", order("fl", "20.00", geo={"states": ["FL"]})),
                buyer("lone", order("tx", "25.00", geo={"states": ["TX"]})),
                buyer("idle", order("off", "40.00", status="paused")),
            ]
        )
    )
    pinged = market.ping()
    before = market.outcomes(pinged["ping_id"])
    assert before == {
        "fl": ("fixed", ""),
        "tx": ("filter", "state in [TX]"),
        "off": ("paused", "order paused"),
    }

    # Texas's order now takes any state and the paused one is back: a new version
    market.apply(
        marketplace(
            [
                buyer("sunny", order("fl", "20.00", geo={"states": ["FL"]})),
                buyer("lone", order("tx", "25.00")),
                buyer("idle", order("off", "40.00")),
            ]
        )
    )
    assert market.outcomes(market.ping()["ping_id"])["tx"] == ("fixed", "")
    # the first ping's trace still says what its own configuration said
    assert market.outcomes(pinged["ping_id"]) == before
    assert market.ping_trace(pinged["ping_id"])["auction"]["winners"] == ["fl"]
