"""``pingtree demo --data-dir D`` a second time on the same D: it starts again on the data
it left there (issue 13's walk: it crashed with a traceback)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.demo.test_demo_run import _admin, _curl, _free_port, _pump, _send, _value
from tests.web.session import sign_in

#: pid → the thread reading its output
_PUMPS: dict[int, threading.Thread] = {}


def _run_demo(data_dir: Path, password: str) -> tuple[subprocess.Popen[str], str, queue.Queue[str]]:
    """A demo without traffic on ``data_dir``, once its banner is out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGTREE_")}
    command = [sys.executable, "-m", "pingtree", "demo", "--port", str(_free_port())]
    command += ["--data-dir", str(data_dir), "--traffic", "0", "--password", password]
    process = subprocess.Popen(
        command,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    pump = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
    pump.start()
    _PUMPS[process.pid] = pump
    banner = ""
    deadline = time.monotonic() + 60
    while "/api/v1/admin/leads/" not in banner:
        try:
            banner += lines.get(timeout=0.5)
        except queue.Empty:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait(10)
                pump.join(10)
                process.stdout.close()
                rest = "".join(lines.queue)
                pytest.fail(f"no banner (exit code {process.poll()}); output:\n{banner}{rest}")
    return process, banner, lines


def _stop(process: subprocess.Popen[str], lines: queue.Queue[str]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=45)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        _PUMPS.pop(process.pid).join(10)
        assert process.stdout is not None
        process.stdout.close()
    output = "".join(lines.queue)
    assert code == 0, output
    return output


def test_a_second_demo_on_the_same_data_dir_starts_again_on_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process, banner, lines = _run_demo(data_dir, "first password")
    try:
        pinged = _send(_curl(banner, "/api/v1/ping"))
        assert pinged["status"] == "accepted", pinged
        posted = _send(_curl(banner, "/api/v1/post"), **{"PASTE-THE-PING-ID": pinged["ping_id"]})
        lead_id = posted["lead_id"]
    finally:
        output = _stop(process, lines)
    assert "Traceback" not in output, output

    process, banner, lines = _run_demo(data_dir, "second password")
    try:
        assert _value(banner, "admin login") == "admin / second password"
        assert _value(banner, "data") == str(data_dir)
        base_url = _value(banner, "web UI").removesuffix("/ui")
        token = _value(banner, "admin token")
        # the first run's lead is there
        assert lead_id in {lead["id"] for lead in _admin(base_url, token, "leads")}
        # and the new password signs in
        with httpx.Client(base_url=base_url, timeout=30) as http:
            assert sign_in(http, "admin", "second password").status_code == 303
    finally:
        output = _stop(process, lines)
    assert "Traceback" not in output, output
