"""Failpoints armed by a file (``PINGTREE_FAILPOINTS_FILE``) in a running process: the
process lives past a point its file does not name, and dies (SIGKILL) at it once the file,
replaced, names it. A real process, since a failpoint kills the process it runs in."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pingtree.failpoints import FILE_ENV, parse_points

#: the child: for each line read from stdin, reach that point, then say it lived
_CHILD = """
import sys
from pingtree.failpoints import failpoint
for line in sys.stdin:
    failpoint(line.strip())
    print("lived", line.strip(), flush=True)
"""


def _replace(path: Path, text: str) -> None:
    written = path.with_suffix(".new")
    written.write_text(text)
    written.replace(path)


def test_a_running_process_is_armed_and_disarmed_by_replacing_its_file(tmp_path: Path) -> None:
    points = tmp_path / "failpoints"  # no file yet: nothing armed
    env = {**os.environ, FILE_ENV: str(points)}
    env.pop("PINGTREE_FAILPOINTS", None)
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:

        def reach(point: str) -> str:
            assert child.stdin is not None
            assert child.stdout is not None
            child.stdin.write(point + "\n")
            child.stdin.flush()
            return child.stdout.readline().strip()

        try:
            assert reach("sale.lead") == "lived sale.lead"
            _replace(points, "sale.claimed")
            assert reach("sale.lead") == "lived sale.lead"
            _replace(points, "")  # disarmed again
            assert reach("sale.claimed") == "lived sale.claimed"
            _replace(points, "delivery.taken,\nsale.lead\n")
            assert reach("sale.committed") == "lived sale.committed"
            assert reach("sale.lead") == ""  # killed before it could say so
            assert child.wait(timeout=10) == -signal.SIGKILL
        finally:
            if child.poll() is None:
                child.kill()


def test_an_unknown_point_is_refused_by_name() -> None:
    assert parse_points(" sale.lead, delivery.taken\n", "the file") == {
        "sale.lead",
        "delivery.taken",
    }
    with pytest.raises(RuntimeError, match=r"the file names unknown points: \['sale.nope'\]"):
        parse_points("sale.lead\nsale.nope", "the file")
