"""``pingtree user create``, as an operator types it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.api.conftest import market_settings
from tests.web.conftest import in_thread


def _env(tmp_path: Path) -> dict[str, str]:
    settings = in_thread(lambda: market_settings(tmp_path))
    env = {
        **os.environ,
        "PINGTREE_DATA_DIR": str(tmp_path),
        "PINGTREE_DATABASE_URL": settings.resolved_database_url(),
    }
    env.pop("PINGTREE_REDIS_URL", None)
    env.pop("PINGTREE_ADMIN_PASSWORD", None)
    return env


def _run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pingtree", "user", "create", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_users_are_created_from_a_flag_the_environment_or_a_prompt(tmp_path: Path) -> None:
    env = _env(tmp_path)
    flagged = _run(env, "ada", "--password", "correct horse battery")
    assert flagged.returncode == 0, flagged.stderr
    assert flagged.stdout.strip() == "user ada created (admin)"

    from_env = _run(
        {**env, "PINGTREE_ADMIN_PASSWORD": "correct horse battery"}, "ana", "--role", "analyst"
    )
    assert from_env.stdout.strip() == "user ana created (analyst)", from_env.stderr

    prompted = _run(env, "otto", "--role", "operator", stdin="long enough pw\nlong enough pw\n")
    assert prompted.returncode == 0, prompted.stderr
    assert "user otto created (operator)" in prompted.stdout


def test_bad_users_are_refused_with_the_reason(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert _run(env, "ada", "--password", "correct horse battery").returncode == 0
    for args, reason in (
        (("ada", "--password", "another good one"), "exists already"),
        (("bob", "--password", "short"), "at least 8 characters"),
        (("bob", "--role", "owner", "--password", "long enough pw"), "role must be one of"),
    ):
        refused = _run(env, *args)
        assert refused.returncode == 1, args
        assert reason in refused.stderr, refused.stderr
