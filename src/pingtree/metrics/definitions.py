"""What pingtree counts for Prometheus, and the cheap calls that count it on the hot path.

An operator must see the failures of issue 11 coming (DESIGN §8.7, §9 "Observability"):
sales and their reasons, buyer latency, outbox depth and age, writer backlogs, set-aside
rows, pool waits. Labels name an endpoint, a campaign or a buyer and closed vocabularies
(statuses, reasons, outcomes), never an order or a lead, so the number of series stays
that of the configuration.

One :class:`Metrics` per process, built at start-up and passed in (STYLE: no module-level
singletons), each with its own registry: apps built side by side in one process (tests)
count apart. With several workers, prometheus-client's multiprocess mode keeps every value
in a file under ``PROMETHEUS_MULTIPROC_DIR`` (chosen when the library is first imported,
see :mod:`pingtree.metrics.exposition`); each gauge says how the workers' values combine.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.metrics import MetricWrapperBase

from pingtree.delivery.attempts import Attempt, AttemptLog
from pingtree.domain.outcomes import Outcome

__all__ = ["MeteredAttemptLog", "Metrics"]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=MetricWrapperBase)

#: seconds; a buyer is asked within a ping's tmax (≤ 1 s) and posted within a few seconds
_BUYER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: seconds; a seller's ping answers within its tmax, a post waits for its buyer
_SELLER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: seconds; a free pooled connection takes microseconds, a new one milliseconds, an
#: exhausted pool up to its timeout (30 s)
_POOL_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0)
#: transactions a SQLite group commit takes: one alone, at most 32 (``store.transaction_line``)
_GROUP_BUCKETS = (1, 2, 4, 8, 16, 32)
#: attempts that sent nothing (the buyer was skipped): counted, but no latency to observe
_UNSENT = frozenset({Outcome.SKIPPED_SLOW, Outcome.THROTTLED, Outcome.CIRCUIT_OPEN})


class _Family(Generic[M]):
    """A labelled metric with its children remembered by label values: ``labels()``
    checks and converts its arguments on every call, a dictionary lookup does not."""

    __slots__ = ("_children", "metric")

    def __init__(self, metric: M) -> None:
        self.metric = metric
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = self.metric.labels(*values)
        return child


class Metrics:
    """Every metric of one process. ``multiprocess`` says whether values live in the
    shared directory (then the gauges' modes matter, and no per-process collectors)."""

    def __init__(self, *, multiprocess: bool) -> None:
        self.multiprocess = multiprocess
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        if not multiprocess:
            # CPU seconds, memory, open files: per process, so one worker only
            ProcessCollector(registry=r)

        # --- the seller API -------------------------------------------------------------
        self.seller_answers = _Family(
            Counter(
                "pingtree_seller_answers",
                "Answers to sellers (HTTP 200) by endpoint, campaign and status "
                "(accepted sold pending rejected); a repeated request counts again",
                ["endpoint", "campaign", "status"],
                registry=r,
            )
        )
        self.seller_reasons = _Family(
            Counter(
                "pingtree_seller_reasons",
                "Reasons given in answers to sellers (why not accepted or not sold)",
                ["endpoint", "campaign", "reason"],
                registry=r,
            )
        )
        self.seller_refusals = _Family(
            Counter(
                "pingtree_seller_refusals",
                "Seller requests refused before an answer: 4xx (bad key, bad input) and "
                "503 (a writer or the database behind), by HTTP status and kind",
                ["endpoint", "status", "kind"],
                registry=r,
            )
        )
        self.seller_seconds = _Family(
            Histogram(
                "pingtree_seller_request_seconds",
                "Time to answer a seller's ping, post or direct post (answers and refusals)",
                ["endpoint"],
                buckets=_SELLER_BUCKETS,
                registry=r,
            )
        )
        self.sales = _Family(
            Counter(
                "pingtree_sales",
                "Leads answered sold to their seller (posts and direct posts), by campaign",
                ["campaign"],
                registry=r,
            )
        )
        self.sales_payout = _Family(
            Counter(
                "pingtree_sales_payout",
                "The price answered to sellers for sold leads (what they are paid), by campaign",
                ["campaign"],
                registry=r,
            )
        )

        # --- buyers ---------------------------------------------------------------------
        self.buyer_exchanges = _Family(
            Counter(
                "pingtree_buyer_exchanges",
                "Exchanges with buyers by kind (ping, post) and outcome (bid, no_bid, "
                "timeout, error, accepted, rejected, unknown, skipped_slow…)",
                ["buyer", "kind", "outcome"],
                registry=r,
            )
        )
        self.buyer_latency = _Family(
            Histogram(
                "pingtree_buyer_latency_seconds",
                "How long a buyer took to answer (or to time out), by kind (ping, post)",
                ["buyer", "kind"],
                buckets=_BUYER_BUCKETS,
                registry=r,
            )
        )

        # --- the outbox (read from the database at scrape time) ---------------------------
        self.outbox_rows = _Family(
            Gauge(
                "pingtree_outbox_rows",
                "Outbox rows by status: queued and sending are still to post, unknown "
                "waits for an operator (at most 10000 counted per status)",
                ["status"],
                multiprocess_mode="mostrecent",
                registry=r,
            )
        )
        self.outbox_oldest_age = Gauge(
            "pingtree_outbox_oldest_age_seconds",
            "Age of the oldest outbox row still to post (queued or sending); 0 when none",
            multiprocess_mode="mostrecent",
            registry=r,
        )

        # --- background writers (per process, summed over live workers) -------------------
        self.writer_backlog = _Family(
            Gauge(
                "pingtree_writer_backlog",
                "Rows queued in a background writer (pings, delivery log) not yet stored",
                ["writer"],
                multiprocess_mode="livesum",
                registry=r,
            )
        )
        self.writer_set_aside = _Family(
            Counter(
                "pingtree_writer_set_aside",
                "Rows a background writer could not store and set aside for an operator",
                ["writer"],
                registry=r,
            )
        )
        self.set_aside_rows = _Family(
            Gauge(
                "pingtree_set_aside_rows",
                "Rows in the set_aside table, by writer: what an operator has to look at "
                "(read from the database; at most 10000 counted)",
                ["writer"],
                multiprocess_mode="mostrecent",
                registry=r,
            )
        )
        self.writer_lost = _Family(
            Counter(
                "pingtree_writer_lost",
                "Rows a background writer gave up on at shutdown (the database kept failing)",
                ["writer"],
                registry=r,
            )
        )

        # --- the database pool ----------------------------------------------------------
        self.pool_wait = Histogram(
            "pingtree_db_pool_wait_seconds",
            "Time to check out a database connection: a free one, a new one, or waiting "
            "for one to come back",
            buckets=_POOL_BUCKETS,
            registry=r,
        )
        self.pool_timeouts = Counter(
            "pingtree_db_pool_timeouts",
            "Checkouts that gave up: the pool stayed exhausted for its whole timeout",
            registry=r,
        )
        self.pool_connections = _Family(
            Gauge(
                "pingtree_db_pool_connections",
                "Database connections of the workers' pools: checked_out (in use), "
                "overflow (open beyond the pool's size), size (the pools' size)",
                ["state"],
                multiprocess_mode="livesum",
                registry=r,
            )
        )

        # --- SQLite's line of transactions (its one connection is its pool) -----------
        self.line_wait = Histogram(
            "pingtree_sqlite_line_wait_seconds",
            "Time a SQLite transaction waited in line for the database's one connection, "
            "from its call to its start",
            buckets=_POOL_BUCKETS,
            registry=r,
        )
        self.line_group = Histogram(
            "pingtree_sqlite_group_transactions",
            "Transactions one SQLite COMMIT made durable together (group commit)",
            buckets=_GROUP_BUCKETS,
            registry=r,
        )

    # --- the hot path ---------------------------------------------------------------------

    def seller_answer(
        self, endpoint: str, campaign: str, answer: Mapping[str, Any], seconds: float
    ) -> None:
        """Count one answer of the seller API (``status`` and ``reasons`` of a flow's
        answer dict)."""
        status = str(answer.get("status", ""))
        self.seller_answers(endpoint, campaign, status).inc()
        for reason in answer.get("reasons") or ():
            self.seller_reasons(endpoint, campaign, str(reason)).inc()
        if status == "sold":
            self.sales(campaign).inc()
            price = answer.get("price")
            if price:
                self.sales_payout(campaign).inc(float(price))
        self.seller_seconds(endpoint).observe(seconds)

    def seller_refusal(self, endpoint: str, status: int, kind: str, seconds: float) -> None:
        """Count one seller request refused with an HTTP error."""
        self.seller_refusals(endpoint, str(status), kind).inc()
        self.seller_seconds(endpoint).observe(seconds)

    def buyer_exchange(self, attempt: Attempt) -> None:
        """Count one exchange with a buyer, as the delivery log records it."""
        self.buyer_exchanges(attempt.buyer_id, attempt.kind, attempt.outcome).inc()
        if attempt.outcome not in _UNSENT:
            self.buyer_latency(attempt.buyer_id, attempt.kind).observe(attempt.duration_ms / 1000)


class MeteredAttemptLog:
    """The delivery log as the outbound code sees it: every attempt is counted, then kept by
    the real log. Counting must never cost the record, so its failure is only logged."""

    def __init__(self, attempts: AttemptLog, metrics: Metrics) -> None:
        self._attempts = attempts
        self._metrics = metrics

    def record(self, attempt: Attempt) -> None:
        try:
            self._metrics.buyer_exchange(attempt)
        except Exception:
            log.exception("could not count a buyer exchange")
        self._attempts.record(attempt)
