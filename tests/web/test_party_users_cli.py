"""``pingtree user create --supplier ID`` / ``--buyer ID``: a user bound to one party of the
configuration, which must exist; the person then signs in and sees that party's scope."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.api.market import buyer, marketplace, order
from tests.web.test_users_cli import _env


def _pingtree(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pingtree", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_supplier_and_buyer_users_are_bound_to_parties_that_exist(tmp_path: Path) -> None:
    env = _env(tmp_path)
    config = yaml.safe_dump(marketplace([buyer("zeta", order("zeta_any"))]))
    applied = _pingtree(env, "apply", "-", stdin=config)
    assert applied.returncode == 0, applied.stderr
    password = ("--password", "correct horse battery")

    sam = _pingtree(env, "user", "create", "sam", "--supplier", "acme", *password)
    assert sam.returncode == 0, sam.stderr
    assert sam.stdout.strip() == "user sam created supplier:acme"
    bea = _pingtree(env, "user", "create", "bea", "--role", "buyer", "--buyer", "zeta", *password)
    assert bea.returncode == 0, bea.stderr
    assert bea.stdout.strip() == "user bea created buyer:zeta"

    for args, reason in (
        (("nobody1", "--supplier", "nowhere"), "no supplier 'nowhere'"),
        (("nobody2", "--buyer", "nowhere"), "no buyer 'nowhere'"),
        (("nobody3", "--role", "supplier"), "must be bound to a supplier"),
        (("nobody4", "--role", "analyst", "--buyer", "zeta"), "not bound to a buyer"),
    ):
        refused = _pingtree(env, "user", "create", *args, *password)
        assert refused.returncode == 1, (args, refused.stdout)
        assert reason in refused.stderr, (args, refused.stderr)
