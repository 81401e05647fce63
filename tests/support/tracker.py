"""An affiliate tracker's postback endpoint for tests: a real HTTP server on loopback, in a
thread, that records every request and answers each with the next status of a script
(then 200)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Heard:
    method: str
    path: str
    #: the query string's values, decoded
    query: dict[str, str]
    body: bytes
    status: int


@dataclass
class Tracker:
    url: str
    heard: list[Heard] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def wait_for(self, count: int, seconds: float = 20) -> list[Heard]:
        """The requests heard, once there are ``count`` of them."""
        give_up = time.monotonic() + seconds
        while len(self.heard) < count:
            assert time.monotonic() < give_up, f"{len(self.heard)} postbacks of {count}"
            time.sleep(0.05)
        return list(self.heard)


@contextmanager
def running_tracker(statuses: Iterable[int] = (), port: int = 0) -> Iterator[Tracker]:
    """A tracker on ``port`` (0: any free one) answering ``statuses`` in turn, then 200."""
    tracker = Tracker("", statuses=list(statuses))
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                status = tracker.statuses.pop(0) if tracker.statuses else 200
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                tracker.heard.append(Heard(self.command, parts.path, query, body, status))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        do_GET = _answer  # noqa: N815 (http.server's names)
        do_POST = _answer  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    tracker.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tracker
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
