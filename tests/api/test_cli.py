"""The command line: apply, export, keys, as an operator types them."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.api.conftest import SECRET, market_settings
from tests.api.market import buyer, marketplace, order
from tests.support.buyers import running_buyers


def _env(tmp_path: Path) -> dict[str, str]:
    settings = market_settings(tmp_path)
    env = {
        **os.environ,
        "PINGTREE_DATA_DIR": str(tmp_path),
        "PINGTREE_DATABASE_URL": settings.resolved_database_url(),
        "PINGTREE_SECRET_KEY": SECRET,
        "PINGTREE_OUTBOUND_ALLOW": '["127.0.0.1"]',
    }
    env.pop("PINGTREE_REDIS_URL", None)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pingtree", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )


def test_apply_export_apply_is_a_no_op(tmp_path: Path) -> None:
    env = _env(tmp_path)
    example = Path(__file__).parents[2] / "src/pingtree/config/examples/marketplace.yaml"
    applied = _run(env, "apply", str(example))
    assert applied.returncode == 0, applied.stderr
    assert "created" in applied.stdout
    exported = _run(env, "export")
    assert exported.returncode == 0, exported.stderr
    again = tmp_path / "exported.yaml"
    again.write_text(exported.stdout)
    reapplied = _run(env, "apply", str(again))
    assert reapplied.returncode == 0, reapplied.stderr
    assert reapplied.stdout.startswith("no changes")


def test_dry_run_writes_nothing_and_errors_name_the_path(tmp_path: Path) -> None:
    env = _env(tmp_path)
    config = tmp_path / "market.yaml"
    config.write_text(yaml.safe_dump(marketplace([buyer("b", order("o", "20.00"))])))
    dry = _run(env, "apply", "--dry-run", str(config))
    assert "+ order o" in dry.stdout
    assert "dry run" in dry.stdout
    assert not (yaml.safe_load(_run(env, "export").stdout) or {}).get("buyers")
    bad = marketplace(
        [buyer("b", order("o", "20.00", caps=[{"kind": "count", "window": "day", "limit": -1}]))]
    )
    config.write_text(yaml.safe_dump(bad))
    refused = _run(env, "apply", str(config))
    assert refused.returncode == 1
    assert "buyers[0].orders[0].caps[0].limit" in refused.stderr


def test_keys_only_for_configured_campaigns(tmp_path: Path) -> None:
    env = _env(tmp_path)
    unknown = _run(env, "key", "create", "nope")
    assert unknown.returncode == 1
    assert "no campaign 'nope'" in unknown.stderr
    config = tmp_path / "market.yaml"
    config.write_text(yaml.safe_dump(marketplace([])))
    assert _run(env, "apply", str(config)).returncode == 0
    created = _run(env, "key", "create", "acme_auto")
    assert created.returncode == 0
    assert created.stdout.startswith("pt_")


def test_an_operator_tests_a_buyer_from_the_command_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    with running_buyers({"rich": {"bid": {"kind": "fixed", "amount": "35.00"}}}) as mock:
        response = {
            "accepted": {"json": "$.status", "equals": ["success"]},
            "bid": {"json": "$.price"},
            "token": {"json": "$.ping_id"},
        }
        live = order(
            "rich_live",
            None,
            pricing={"type": "bid"},
            delivery={
                "ping": {
                    "url": mock.ping_url("rich"),
                    "body": {"fields": [{"from": "zip", "to": "zip"}]},
                    "response": response,
                },
                "post": {
                    "same_as": "ping",
                    "url": mock.post_url("rich"),
                    "body": {"fields": [{"from": "token", "to": "ping_id"}]},
                },
            },
        )
        config = tmp_path / "market.yaml"
        broken = copy.deepcopy(live)
        broken["id"] = "dead_live"
        broken["delivery"]["ping"]["url"] = "http://127.0.0.1:9/ping"  # discard: refused
        config.write_text(yaml.safe_dump(marketplace([buyer("rich", live, broken)])))
        assert _run(env, "apply", str(config)).returncode == 0
        tested = _run(env, "test-buyer", "rich_live", "--field", "zip=10001", "--post")
        # a ping the buyer cannot answer: the exit status says so
        dead = _run(env, "test-buyer", "dead_live")
    assert tested.returncode == 0, tested.stderr
    assert dead.returncode == 1, dead.stdout
    (dead_ping,) = yaml.safe_load(dead.stdout)
    assert (dead_ping["ok"], dead_ping["error"]) == (False, "no answer: connect")
    ping, post = yaml.safe_load(tested.stdout)
    assert ping["request"]["body"] == '{"zip":"10001"}'
    assert (ping["parsed"]["bid"], ping["response"]["status"]) == ("35.00", 200)
    assert post["request"]["body"] == f'{{"ping_id":"{ping["parsed"]["token"]}"}}'
    assert post["parsed"]["accepted"] is True
    unknown = _run(env, "test-buyer", "nope")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "no order 'nope'")


def test_test_buyer_runs_the_delivery_chain_and_fails_with_a_step(tmp_path: Path) -> None:
    env = _env(tmp_path)
    endpoints: dict[str, dict[str, Any]] = {
        "rich": {"bid": {"kind": "fixed", "amount": "35.00"}},
        "crm": {"check_token": False},
        "refuses": {"check_token": False, "post_accept_rate": 0},
    }
    with running_buyers(endpoints) as mock:

        def chained(order_id: str, *steps: tuple[str, str]) -> dict[str, Any]:
            accepted = {"accepted": {"json": "$.status", "equals": ["success"]}}
            chain = [
                {
                    "name": name,
                    "url": mock.post_url(endpoint),
                    "body": {"fields": [{"from": "token", "to": "ref"}]},
                    "response": accepted,
                }
                for name, endpoint in steps
            ]
            return order(
                order_id,
                None,
                pricing={"type": "bid"},
                delivery={
                    "ping": {
                        "url": mock.ping_url("rich"),
                        "body": {"fields": [{"from": "zip", "to": "zip"}]},
                        "response": {
                            **accepted,
                            "bid": {"json": "$.price"},
                            "token": {"json": "$.ping_id"},
                        },
                    },
                    "post": {
                        "same_as": "ping",
                        "url": mock.post_url("rich"),
                        "body": {"fields": [{"from": "token", "to": "ping_id"}]},
                        "response": accepted,
                        "test_marker": {"header": "X-Test-Lead", "value": "1"},
                    },
                    "chain": chain,
                },
            )

        config = tmp_path / "market.yaml"
        good = chained("good", ("crm", "crm"))
        bad = chained("bad", ("crm", "crm"), ("mail", "refuses"))
        config.write_text(yaml.safe_dump(marketplace([buyer("rich", good, bad)])))
        assert _run(env, "apply", str(config)).returncode == 0
        passed = _run(env, "test-buyer", "good", "--post")
        failed = _run(env, "test-buyer", "bad", "--post")
        crm_requests = mock.requests_to("crm", "post")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    ping, _post, crm = yaml.safe_load(passed.stdout)
    assert (crm["step"], crm["ok"], crm["parsed"]["accepted"]) == ("chain.crm", True, True)
    # after the test post, marked as a test as the post is, with the ping's token
    assert crm["request"]["headers"]["X-Test-Lead"] == "1"
    assert crm["request"]["body"] == f'{{"ref":"{ping["parsed"]["token"]}"}}'
    assert len(crm_requests) == 2
    assert all(r.headers.get("X-Test-Lead") == "1" for r in crm_requests)
    # a chain step that fails: the exit status says so, and the steps are all shown
    assert failed.returncode == 1, failed.stdout
    steps = yaml.safe_load(failed.stdout)
    assert [(s["step"], s["ok"]) for s in steps] == [
        ("ping", True),
        ("post", True),
        ("chain.crm", True),
        ("chain.mail", False),
    ]
    assert steps[3]["parsed"]["accepted"] is False


def test_secrets_are_set_from_stdin_and_listed_without_values(tmp_path: Path) -> None:
    env = _env(tmp_path)
    stored = subprocess.run(
        [sys.executable, "-m", "pingtree", "secret", "set", "shield_token"],
        env=env,
        input="tok-123\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert stored.returncode == 0, stored.stderr
    assert "tok-123" not in stored.stdout
    listed = _run(env, "secret", "list")
    assert listed.stdout.startswith("shield_token\t")
    assert "tok-123" not in listed.stdout
    refused = _run(env, "secret", "set", "bad name")
    assert refused.returncode == 1
