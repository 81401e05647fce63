"""Real ``pingtree`` processes for tests that need several, or need to kill one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from pingtree.settings import Settings

__all__ = [
    "cli",
    "free_port",
    "kill_server",
    "server_env",
    "start_server",
    "start_servers",
    "stop_server",
    "wait_ready",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(settings: Settings, secret: str, **extra: str) -> dict[str, str]:
    """The environment of a server process on the same database (and Redis) as ``settings``."""
    env = {
        **os.environ,
        "PINGTREE_DATA_DIR": str(settings.data_dir),
        "PINGTREE_DATABASE_URL": settings.resolved_database_url(),
        "PINGTREE_SECRET_KEY": secret,
        **extra,
    }
    if settings.redis_url:
        env["PINGTREE_REDIS_URL"] = settings.redis_url
    else:
        env.pop("PINGTREE_REDIS_URL", None)
    return env


def cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pingtree", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``pingtree serve`` on ``port``, ready to answer; its output appended to ``log``."""
    (server,) = start_servers(env, [port], log)
    return server


def start_servers(
    env: dict[str, str], ports: list[int], log: Path
) -> list[subprocess.Popen[bytes]]:
    """``pingtree serve`` on each of ``ports``, all started at once (each start is seconds
    of imports), then each ready to answer; their output appended to ``log``."""
    servers = []
    with log.open("ab") as out:
        for port in ports:
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "pingtree", "serve", "--port", str(port)],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_ready(f"http://127.0.0.1:{port}", server, log)
    except BaseException:
        for server in servers:
            if server.poll() is None:
                kill_server(server)
        raise
    return servers


def wait_ready(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    # one client for every poll: ``httpx.get`` makes a client, and its TLS context, each
    # call (30 ms of CPU, taken from the server starting beside it, ten times a second)
    with httpx.Client(timeout=1) as http:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"server exited:\n{log.read_text(errors='replace')[-4000:]}")
            try:
                if http.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not become ready")


def kill_server(server: subprocess.Popen[bytes]) -> None:
    """SIGKILL: the server dies at once, wherever it is, as in a crash."""
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if it has not stopped within 30 s."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill_server(server)
