"""One pair of hosts per test module: two ``pingtree serve`` in their own network namespaces,
on one PostgreSQL database and one Redis database, behind HAProxy (tests/hosts/cluster.py).

They need PostgreSQL and Redis, so they run in the PostgreSQL leg of ``.ci/run``
(``PINGTREE_DATABASE_URL`` names PostgreSQL) and are skipped in the SQLite leg. They need
root, ``ip netns`` and HAProxy: without them they are skipped, except under ``CI=true``,
where they fail (``.ci/run`` installs HAProxy and runs as root).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import httpx
import pytest

from pingtree.bootstrap import create_api_key
from pingtree.settings import Settings
from tests.api.conftest import SECRET
from tests.crash.harness import buyer_endpoints
from tests.hosts.cluster import Cluster, missing_prerequisite
from tests.hosts.deployment import ENDPOINTS, Deployment, hosts_marketplace
from tests.support.buyers import running_buyers
from tests.support.databases import backend_kind, fresh_database, fresh_redis

#: short outbox timers, so that a killed host's rows are free within a second
TIMERS = {
    "PINGTREE_OUTBOX_LEASE_SECONDS": "0.5",
    "PINGTREE_OUTBOX_POLL_SECONDS": "0.1",
    "PINGTREE_OUTBOX_BACKOFF_SECONDS": "0.2",
}


def _needs_hosts() -> None:
    if backend_kind() != "postgres":
        pytest.skip(
            "the hosts share PostgreSQL and Redis: these tests run in the PostgreSQL leg"
            " (PINGTREE_DATABASE_URL naming PostgreSQL)"
        )
    reason = missing_prerequisite()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"cannot run two hosts here: {reason}; CI must run these tests")
    pytest.skip(f"cannot run two hosts here: {reason}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _needs_hosts()
    tmp_path = tmp_path_factory.mktemp("hosts")
    database_url = asyncio.run(fresh_database("postgres", tmp_path))
    redis_url = asyncio.run(fresh_redis())
    base = {k: v for k, v in os.environ.items() if not k.startswith("PINGTREE_")}
    env = {
        **base,
        **TIMERS,
        "PINGTREE_SECRET_KEY": SECRET,
        # few connections each: the PostgreSQL server is shared with every other test
        "PINGTREE_DATABASE_CONNECTIONS": "6",
        # the migrations ran once, above, as a deployment's release step runs them
        "PINGTREE_MIGRATE_ON_START": "false",
        # a change reaches the other host by its notice (Redis), not by the poll of
        # config_version, which is left as a slow safety net here
        "PINGTREE_CONFIG_POLL_SECONDS": "30",
    }
    cluster = Cluster(tmp_path, database_url, redis_url, env)
    # the mock buyers' address is the bridge's, known once the network is up
    cluster.env["PINGTREE_OUTBOUND_ALLOW"] = f'["{cluster.network.gateway}"]'
    try:
        cluster.up()
        yield cluster
    finally:
        cluster.down()


@pytest.fixture(scope="module")
def deployment(cluster: Cluster) -> Iterator[Deployment]:
    endpoints = {**buyer_endpoints(), **{name: {"check_token": False} for name in ENDPOINTS}}
    with running_buyers(endpoints, host=cluster.network.gateway) as mock:
        settings = Settings(
            data_dir=cluster.tmp_path, database_url=cluster.database_url, secret_key=SECRET
        )
        token = asyncio.run(create_api_key(settings, "admin", None, "tests"))
        deployment = Deployment(mock, cluster.database_url, {"Authorization": f"Bearer {token}"})
        deployment.apply(cluster.url, hosts_marketplace(mock))
        for campaign_id in ("wait", "nowait"):
            made = httpx.post(
                f"{cluster.url}/api/v1/admin/campaigns/{campaign_id}/keys",
                headers=deployment.admin,
                timeout=30,
            )
            assert made.status_code == 201, made.text
            deployment.keys[campaign_id] = made.json()["api_key"]
        yield deployment
