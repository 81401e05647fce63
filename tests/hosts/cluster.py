"""Two real ``pingtree serve`` hosts, each in its own network namespace, behind HAProxy.

The topology, built as root with ``ip`` and torn down whatever happens::

    root namespace                               namespaces pingtree-<tag>-a, -b
    bridge ptbr<tag> 10.N.M.1/24 ── a veth each ──  host a 10.N.M.2:8000, host b 10.N.M.3:8000
      HAProxy  127.0.0.1:<port>  → the two hosts (round robin, ``/readyz`` checked)
               10.N.M.1:<pg>     → PostgreSQL 127.0.0.1:5432   (TCP)
               10.N.M.1:<redis>  → Redis 127.0.0.1:6379        (TCP)
      the mock buyers            10.N.M.1:<port>

The hosts reach PostgreSQL and Redis, which listen on the root namespace's loopback only,
through HAProxy's TCP proxies on the bridge; they share one database and one Redis
database, as N hosts of a deployment do. Each namespace gets its own ``resolv.conf``
(``/etc/netns/<name>/``) naming a resolver on its own loopback: nothing answers there, so
a name lookup fails at once instead of waiting out the host's resolver, unreachable from
the namespace.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.crash.harness import until
from tests.support.processes import free_port, wait_ready

__all__ = ["Cluster", "Host", "Network", "missing_prerequisite"]

#: the port every host listens on, in its own namespace
HOST_PORT = 8000


def tool(name: str) -> str | None:
    """The path of the command ``name``, also where a PATH without the sbin directories
    would miss it (Debian's ``ip`` and ``haproxy``)."""
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/sbin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


IP = tool("ip") or "ip"


def missing_prerequisite() -> str | None:
    """Why the hosts cannot be built here (not root, no ``ip netns``, no HAProxy), or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if tool("ip") is None:
        return "no `ip` command (iproute2)"
    if tool("haproxy") is None:
        return "no HAProxy (apt-get install haproxy)"
    probe = f"ptprobe{os.getpid()}"
    made = subprocess.run([IP, "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    subprocess.run([IP, "netns", "del", probe], capture_output=True)
    return None


def _ip(*args: str) -> None:
    done = subprocess.run([IP, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _free_subnet() -> str:
    """A 10.x.y.0/24 no interface of this machine has an address in (``10.x.y``)."""
    taken = subprocess.run([IP, "-4", "-o", "addr"], capture_output=True, text=True).stdout
    seed = os.getpid()
    for step in range(64):
        prefix = f"10.{200 + (seed + step) % 50}.{(seed // 50 + step) % 256}"
        if f" {prefix}." not in taken:
            return prefix
    raise RuntimeError("no free 10.x.y.0/24 subnet for the test network")


_networks = itertools.count()


@dataclass
class Network:
    """A bridge in the root namespace and one namespace per host, joined by veth pairs."""

    names: tuple[str, ...]
    #: in every name: this process's, and which of its networks (one a test module)
    tag: str = field(default_factory=lambda: f"{os.getpid()}x{next(_networks)}")
    prefix: str = field(default_factory=_free_subnet)
    namespaces: list[str] = field(default_factory=list)
    #: the veth ends left in the root namespace (each goes with its pair's other end)
    veths: list[str] = field(default_factory=list)

    @property
    def bridge(self) -> str:
        return f"ptbr{self.tag}"[:15]

    @property
    def gateway(self) -> str:
        """The root namespace's address on the bridge: the services, seen from a host."""
        return f"{self.prefix}.1"

    def address(self, index: int) -> str:
        return f"{self.prefix}.{index + 2}"

    def namespace(self, index: int) -> str:
        return f"pingtree-{self.tag}-{self.names[index]}"

    def up(self) -> None:
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
            for index in range(len(self.names)):
                self._join(index)
        except BaseException:
            self.down()
            raise

    def _join(self, index: int) -> None:
        ns = self.namespace(index)
        outside, inside = f"pt{self.tag}{index}o"[:15], f"pt{self.tag}{index}i"[:15]
        _ip("netns", "add", ns)
        self.namespaces.append(ns)
        resolver = Path("/etc/netns") / ns
        resolver.mkdir(parents=True, exist_ok=True)
        (resolver / "resolv.conf").write_text("nameserver 127.0.0.1\n")
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        self.veths.append(outside)
        _ip("link", "set", outside, "master", self.bridge)
        _ip("link", "set", outside, "up")
        _ip("link", "set", inside, "netns", ns)
        _ip("-n", ns, "addr", "add", f"{self.address(index)}/24", "dev", inside)
        _ip("-n", ns, "link", "set", inside, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "route", "add", "default", "via", self.gateway)

    def down(self) -> None:
        """Every namespace (its veth end goes with it, and the pair's other end) and the
        bridge; whatever of them exists."""
        for ns in self.namespaces:
            subprocess.run([IP, "netns", "del", ns], capture_output=True)
            shutil.rmtree(Path("/etc/netns") / ns, ignore_errors=True)
        self.namespaces.clear()
        for veth in self.veths:  # gone already, unless it never reached its namespace
            subprocess.run([IP, "link", "del", veth], capture_output=True)
        self.veths.clear()
        subprocess.run([IP, "link", "del", self.bridge], capture_output=True)


def _wait_port(host: str, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    give_up = time.monotonic() + 20
    while time.monotonic() < give_up:
        if process.poll() is not None:
            raise RuntimeError(f"exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port}")


def _moved(url: str, host: str, port: int) -> str:
    """``url`` with its host and port replaced (a service, as seen from a namespace)."""
    parts = urlsplit(url)
    netloc = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=f"{netloc}{host}:{port}"))


HAPROXY_CONFIG = """\
global
    maxconn 2000

defaults
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # a database session or a Redis subscription may stay idle for long
    timeout tunnel 1h

frontend sellers
    mode http
    bind 127.0.0.1:{front}
    default_backend pingtree

backend pingtree
    mode http
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    # a host busy on a shared machine may answer a check slowly: not a dead host
    timeout check 5s
    default-server inter 500ms fall 3 rise 1
    # which host answered, for the tests (and for an operator reading a trace)
    http-response set-header X-Pingtree-Host %[srv_name]
{servers}

listen postgres
    mode tcp
    bind {gateway}:{pg}
    server postgres {pg_host}:{pg_port}

listen redis
    mode tcp
    bind {gateway}:{redis}
    server redis {redis_host}:{redis_port}
"""


@dataclass
class Host:
    name: str
    namespace: str
    address: str
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}:{HOST_PORT}"


@dataclass
class Cluster:
    """The hosts, HAProxy in front, the shared database and Redis behind (see the module's
    docstring). ``url`` is the balancer's; ``hosts[i].url`` a host's own."""

    tmp_path: Path
    database_url: str
    redis_url: str
    env: dict[str, str]
    names: tuple[str, ...] = ("a", "b")
    network: Network = field(init=False)
    hosts: list[Host] = field(default_factory=list)
    haproxy: subprocess.Popen[bytes] | None = None
    url: str = ""

    def __post_init__(self) -> None:
        self.network = Network(self.names)

    # --- up and down ---------------------------------------------------------------------

    def up(self) -> None:
        try:
            self.network.up()
            self._start_haproxy()
            for index, name in enumerate(self.names):
                self.hosts.append(
                    Host(
                        name,
                        self.network.namespace(index),
                        self.network.address(index),
                        self.tmp_path / f"host-{name}.log",
                    )
                )
            self.start(*self.hosts)
            # HAProxy checked the hosts while they started and may have marked them down:
            # the tests begin once its next checks took them both in
            for host in self.hosts:
                self.balanced(host, up=True)
        except BaseException:
            self.down()
            raise

    def down(self) -> None:
        for host in self.hosts:
            if host.process is not None and host.process.poll() is None:
                host.process.send_signal(signal.SIGKILL)
                host.process.wait(10)
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait(10)
        self.network.down()

    def _start_haproxy(self) -> None:
        pg, redis = urlsplit(self.database_url), urlsplit(self.redis_url)
        self.pg_port, self.redis_port, front = free_port(), free_port(), free_port()
        servers = "\n".join(
            f"    server {name} {self.network.address(i)}:{HOST_PORT} check"
            for i, name in enumerate(self.names)
        )
        config = self.tmp_path / "haproxy.cfg"
        config.write_text(
            HAPROXY_CONFIG.format(
                front=front,
                servers=servers,
                gateway=self.network.gateway,
                pg=self.pg_port,
                pg_host=pg.hostname,
                pg_port=pg.port or 5432,
                redis=self.redis_port,
                redis_host=urlsplit(self.redis_url).hostname,
                redis_port=redis.port or 6379,
            )
        )
        log = self.tmp_path / "haproxy.log"
        with log.open("ab") as out:
            # -db: in the foreground, so that this process is HAProxy's and we stop it
            self.haproxy = subprocess.Popen(
                [tool("haproxy") or "haproxy", "-db", "-f", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        _wait_port("127.0.0.1", front, self.haproxy, log)
        self.url = f"http://127.0.0.1:{front}"

    def host_env(self, host: Host) -> dict[str, str]:
        gateway = self.network.gateway
        data_dir = self.tmp_path / f"data-{host.name}"
        data_dir.mkdir(exist_ok=True)
        return {
            **self.env,
            "PINGTREE_DATA_DIR": str(data_dir),
            "PINGTREE_DATABASE_URL": _moved(self.database_url, gateway, self.pg_port),
            "PINGTREE_REDIS_URL": _moved(self.redis_url, gateway, self.redis_port),
        }

    # --- one host --------------------------------------------------------------------------

    def start(self, *hosts: Host) -> None:
        """``pingtree serve`` in each host's namespace, on its address; ready to answer."""
        for host in hosts:
            with host.log.open("ab") as out:
                out.write(b"\n=== pingtree serve ===\n")
                # `ip netns exec` enters the namespace and execs: the pid is the server's
                host.process = subprocess.Popen(
                    [
                        *(IP, "netns", "exec", host.namespace),
                        *(sys.executable, "-m", "pingtree", "serve"),
                        *("--host", host.address, "--port", str(HOST_PORT)),
                    ],
                    env=self.host_env(host),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        for host in hosts:
            assert host.process is not None
            wait_ready(host.url, host.process, host.log)

    def kill(self, host: Host) -> None:
        """SIGKILL: the host dies at once, wherever it is, as in a crash."""
        assert host.process is not None
        host.process.send_signal(signal.SIGKILL)
        assert host.process.wait(10) == -signal.SIGKILL
        host.process = None

    def balanced(self, host: Host, up: bool, seconds: float = 10) -> None:
        """Wait until HAProxy's health checks took ``host`` out of rotation (or back in)."""
        until(
            lambda: self._in_rotation(host) == up,
            f"HAProxy to take {host.name} {'in' if up else 'out'}",
            seconds,
        )

    def _in_rotation(self, host: Host) -> bool:
        seen = set()
        for _ in range(4):
            try:
                answer = httpx.get(f"{self.url}/readyz", timeout=2)
            except httpx.HTTPError:
                continue
            seen.add(answer.headers.get("X-Pingtree-Host"))
        return host.name in seen

    def logs(self) -> str:
        return "\n".join(
            f"--- {host.name} ---\n{host.log.read_text(errors='replace')[-3000:]}"
            for host in self.hosts
            if host.log.exists()
        )
