"""``pingtree demo`` for real: a subprocess, its banner, its traffic, its Ctrl-C."""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

#: the machine may be busy: a slow answer is not what this test is about
TIMEOUT = 30
LIVE_ORDERS = {"rapid_auto_live", "torchlight_auto_live", "meridian_health_live"}


@dataclass
class RunningDemo:
    process: subprocess.Popen[str]
    banner: str
    lines: queue.Queue[str]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[RunningDemo]:
    # the demo runs on its own SQLite whatever the environment says
    env = {k: v for k, v in os.environ.items() if not k.startswith("PINGTREE_")}
    env["PINGTREE_DATABASE_URL"] = "postgresql+asyncpg://nobody@127.0.0.1:9/ignored"
    command = [sys.executable, "-m", "pingtree", "demo", "--port", str(_free_port())]
    command += ["--data-dir", str(tmp_path / "data"), "--traffic", "8"]
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
    try:
        banner = ""
        deadline = time.monotonic() + 60
        while "/api/v1/admin/leads/" not in banner:  # the banner's last line
            try:
                banner += lines.get(timeout=0.5)
            except queue.Empty:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"no banner (exit code {process.poll()}); output:\n{banner}")
        yield RunningDemo(process, banner, lines)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        pump.join(10)
        process.stdout.close()
        # shown by pytest when the test fails
        print("".join(lines.queue))


def _value(banner: str, label: str) -> str:
    match = re.search(rf"^\s+{label}\s+(.+)$", banner, re.MULTILINE)
    assert match, f"no {label!r} in:\n{banner}"
    return match.group(1).strip()


def _curl(banner: str, path: str) -> list[str]:
    """The printed ``curl`` command for ``path``, as its arguments."""
    start = banner.index(f"curl -s http://127.0.0.1:{_port(banner)}{path}")
    command = banner[start:].split("\n\n", 1)[0].split("\n# ", 1)[0]
    return shlex.split(command.replace("\\\n", " "))


def _port(banner: str) -> int:
    return int(_value(banner, "web UI").rsplit(":", 1)[1].split("/")[0])


def _send(args: list[str], **replace: str) -> Any:
    """Send what a ``curl -s URL -H … -d …`` command would."""
    url = args[2]
    headers = dict(args[i + 1].split(": ", 1) for i, arg in enumerate(args) if arg == "-H")
    body = args[args.index("-d") + 1] if "-d" in args else None
    for old, new in replace.items():
        body = body.replace(old, new) if body else body
    response = httpx.request(
        "POST" if body else "GET", url, headers=headers, content=body, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()


def _admin(base_url: str, token: str, listing: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base_url}/api/v1/admin/{listing}?limit=500",
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_the_demo_sells_traffic_answers_its_curl_and_stops_on_ctrl_c(demo: RunningDemo) -> None:
    banner = demo.banner
    base_url = _value(banner, "web UI").removesuffix("/ui")
    assert _value(banner, "admin login").startswith("admin / ")
    token = _value(banner, "admin token")
    keys = {
        campaign: _value(banner, campaign).split()[-1]
        for campaign in ("sunrise_auto", "harborview_health", "northstar_auto_direct")
    }
    assert len(set(keys.values())) == 3
    # the direct post campaign's hosted form is served where the banner says
    form = httpx.get(_value(banner, "hosted form"), timeout=TIMEOUT)
    assert form.status_code == 200, form.text
    assert "<h1>Compare auto insurance quotes</h1>" in form.text

    # the printed ping and post work as printed
    pinged = _send(_curl(banner, "/api/v1/ping"))
    assert pinged["status"] == "accepted", pinged
    assert keys["sunrise_auto"] in " ".join(_curl(banner, "/api/v1/ping"))
    posted = _send(_curl(banner, "/api/v1/post"), **{"PASTE-THE-PING-ID": pinged["ping_id"]})
    # sold, or pending while the winner's endpoint has not yet confirmed
    assert posted["status"] in ("sold", "pending"), posted

    # the traffic sells leads of every campaign, to live bidders too
    deadline = time.monotonic() + 30
    while True:
        sold = {
            lead["campaign_id"]
            for lead in _admin(base_url, token, "leads")
            if lead["status"] == "sold"
        }
        live = {sale["order_id"] for sale in _admin(base_url, token, "sales")} & LIVE_ORDERS
        if sold == set(keys) and live:
            break
        assert time.monotonic() < deadline, (sold, live)
        time.sleep(0.5)

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=45) == 0
    output = "".join(demo.lines.queue)
    assert "Traceback" not in output, output


def test_a_busy_port_fails_at_once_and_creates_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        command = [sys.executable, "-m", "pingtree", "demo", "--port", str(port)]
        result = subprocess.run(
            [*command, "--data-dir", str(data_dir)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert not data_dir.exists()
