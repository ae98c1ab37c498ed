"""Run the service on uvicorn with a graceful lifecycle: drain on SIGTERM, workers supervised.

SIGTERM does not stop a worker at once. It turns `/readyz` and `/status` to 503 `DRAINING`
and keeps serving, old connections and new, for `drain_seconds`, so a load balancer's next
probes take the process out of rotation while nothing is refused. Then the worker stops
accepting connections, answers the requests it has (each response now says
`Connection: close`), closes keep-alive connections that stay idle for a second, and
exits; requests still running after `drain_timeout` seconds are cancelled. SIGINT
(Ctrl+C) skips the drain.

With several workers a supervisor process holds the listening socket, starts the workers
(each loads its index before it accepts a connection: see `create_app`), restarts one that
dies, and on SIGTERM hands the socket to the workers alone and lets each drain. The
workers balance connections between them (`TakeTurns`), so a platform's few long-lived
keep-alive connections are spread over them instead of all landing on the first one awake.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn

log = logging.getLogger("safeguard.api.server")

STARTUP_FAILURE = 3  # uvicorn's exit status for a worker that could not start
#: after the drain, how long a keep-alive connection may stay idle before it is closed
CLOSE_GRACE = 1.0


@dataclass
class Lifecycle:
    """This process's place in its life, read by the health checks and the app."""

    draining: bool = False  # SIGTERM received: not ready, still serving
    closing: bool = False  # no longer accepting: every response closes its connection


STATE = Lifecycle()


class GracefulServer(uvicorn.Server):
    """uvicorn's server with a drain period before shutdown and a gentler shutdown."""

    def __init__(
        self,
        config: uvicorn.Config,
        drain_seconds: float,
        drain_timeout: float,
        seat: Seat | None = None,
    ):
        super().__init__(config)
        self.seat = seat  # this worker's place among the supervisor's workers
        self.drain_seconds = drain_seconds
        self.drain_timeout = drain_timeout
        self._drain_ends: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig == signal.SIGTERM and self.drain_seconds > 0 and not STATE.draining:
            STATE.draining = True
            self._drain_ends = time.monotonic() + self.drain_seconds
            log.warning("SIGTERM: draining for %.1f s, then stopping", self.drain_seconds)
            return
        if sig == signal.SIGTERM and STATE.draining:
            return  # already on the way out; a repeated SIGTERM changes nothing
        STATE.draining = True
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """As uvicorn's, except that a worker on the supervisor's socket accepts through
        `TakeTurns` instead of the event loop's server (which accepts every connection
        waiting at once)."""
        if sockets is None or self.seat is None:
            await super().startup(sockets)
            return
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        config = self.config
        protocol = functools.partial(
            config.http_protocol_class,  # type: ignore[call-arg]
            config=config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
        )
        loop = asyncio.get_running_loop()
        held = self.server_state.connections.__len__
        takers = [
            TakeTurns(loop, sock, protocol, self.seat, held, config.ssl, config.backlog)
            for sock in sockets
        ]
        self.servers = takers  # type: ignore[assignment]  # all uvicorn asks of a server
        self.started = True

    async def on_tick(self, counter: int) -> bool:
        if self.seat is not None and self.started and not STATE.closing:
            self.seat.publish(len(self.server_state.connections))
        if self._drain_ends is not None and time.monotonic() >= self._drain_ends:
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting first, then give each connection a moment to end after its next
        response, so a request already on its way is answered, not cut; what remains
        (connections idle that long, and requests still running) is left to uvicorn's
        shutdown, which closes idle connections and waits for the rest."""
        STATE.closing = True
        if self.seat is not None:
            self.seat.leave()
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        start = time.monotonic()
        wait = min(self.drain_timeout, CLOSE_GRACE)
        while self.server_state.connections and not self.force_exit:
            if time.monotonic() - start >= wait:
                break
            await asyncio.sleep(0.05)
        left = self.drain_timeout - (time.monotonic() - start)
        self.config.timeout_graceful_shutdown = max(0.1, left)  # type: ignore[assignment]
        await super().shutdown(sockets=None)


#: connections a worker holds when it is not accepting (starting, stopping or gone)
_AWAY = 1 << 30
#: how long a worker with more connections than another leaves a new one to the others
_DEFER = 0.005


@dataclass
class Seat:
    """A worker's place in the supervisor's table of how many connections each worker
    holds (shared memory): `publish` its count, read the others'."""

    table: Any  # multiprocessing.Array("i"), one slot per worker, _AWAY when not accepting
    index: int

    def publish(self, held: int) -> None:
        self.table[self.index] = held

    def leave(self) -> None:
        self.table[self.index] = _AWAY

    def fewest_elsewhere(self) -> int:
        return min((n for i, n in enumerate(self.table[:]) if i != self.index), default=_AWAY)


class TakeTurns:
    """Accepts connections on a listening socket that several worker processes share,
    leaving each new connection to the worker that holds the fewest.

    An event loop's own server accepts every connection waiting when the socket wakes it,
    so when a client opens its pool of keep-alive connections at once, the first worker
    awake takes them all and serves them alone for as long as they live. Here a worker
    accepts one connection per turn, and one that already holds more connections than
    another accepting worker first stands back for a few milliseconds: the other takes
    it if it can, and if it does not (busy, or gone), this one takes it after all."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        protocol: functools.partial[asyncio.Protocol],
        seat: Seat,
        held: Callable[[], int],
        ssl: object = None,
        backlog: int = 2048,
    ) -> None:
        self.loop, self.sock, self.protocol, self.ssl = loop, sock, protocol, ssl
        self.seat, self.held = seat, held
        self.open = True
        self._deferred = False
        sock.listen(backlog)  # the supervisor only bound it
        sock.setblocking(False)
        seat.publish(held())
        loop.add_reader(sock.fileno(), self._accept_one)

    def _accept_one(self) -> None:
        mine = self.held()
        if not self._deferred and mine > self.seat.fewest_elsewhere():
            self._deferred = True
            self._pause(_DEFER)
            return
        self._deferred = False
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another worker took it
        except OSError as e:  # out of descriptors or memory: pause, then try again
            log.error("cannot accept a connection now (%s); pausing a second", e)
            self._pause(1.0)
            return
        self.seat.publish(mine + 1)
        conn.setblocking(False)
        self.loop.create_task(self._connect(conn))

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self.protocol, conn, ssl=self.ssl)  # type: ignore[arg-type]
        except OSError:  # the client went before the connection was set up
            conn.close()

    def _pause(self, seconds: float) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.loop.call_later(seconds, self._resume)

    def _resume(self) -> None:
        if self.open:
            self.loop.add_reader(self.sock.fileno(), self._accept_one)

    def close(self) -> None:
        """Stop accepting (the socket itself is closed by its owner)."""
        if self.open:
            self.open = False
            self.seat.leave()
            self.loop.remove_reader(self.sock.fileno())

    async def wait_closed(self) -> None:
        return None


def _worker(
    config: uvicorn.Config,
    sockets: list[socket.socket],
    drain: float,
    timeout: float,
    seat: Seat,
) -> None:
    """A worker process: one GracefulServer on the supervisor's listening socket."""
    config.configure_logging()
    _serve(GracefulServer(config, drain, timeout, seat), sockets)


def share_cores(workers: int) -> None:
    """Give each worker process's faiss (OpenMP) threads its share of the cores, through the
    environment the workers start with (OpenMP reads it once, and a thread count set in one
    thread does not reach the others). With every worker's threads on every core they wait
    on each other: a two-worker start that builds a word index of 20,000 images took 225 s,
    against 23 s so (docs/benchmarks.md). An OMP_NUM_THREADS set by the operator wins."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (cores or 1) // max(1, workers))))


def _serve(server: GracefulServer, sockets: list[socket.socket] | None) -> None:
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises a SIGINT it handled
        server.run(sockets=sockets)
    if not server.started:
        sys.exit(STARTUP_FAILURE)


def run(config: uvicorn.Config, drain_seconds: float, drain_timeout: float) -> None:
    """Serve until stopped: in this process, or in `config.workers` supervised workers."""
    if config.workers <= 1:
        _serve(GracefulServer(config, drain_seconds, drain_timeout), None)
    else:
        _supervise(config, drain_seconds, drain_timeout)


def _supervise(config: uvicorn.Config, drain_seconds: float, drain_timeout: float) -> None:
    multiprocessing.allow_connection_pickling()  # the listening socket goes to each worker
    share_cores(config.workers)  # before any worker starts: they read it as they begin
    spawn = multiprocessing.get_context("spawn")
    sock = config.bind_socket()
    stop = threading.Event()
    table = spawn.Array("i", [_AWAY] * config.workers, lock=False)

    def start(index: int) -> multiprocessing.process.BaseProcess:
        seat = Seat(table, index)
        seat.leave()  # until the new worker accepts
        args = (config, [sock], drain_seconds, drain_timeout, seat)
        p = spawn.Process(target=_worker, args=args)
        p.start()
        return p

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    workers = [start(i) for i in range(config.workers)]
    failed = False
    while not stop.wait(0.5):
        for i, p in enumerate(workers):
            if p.is_alive():
                continue
            if p.exitcode == STARTUP_FAILURE:
                log.error("worker %s failed to start; stopping", p.pid)
                failed = True
                stop.set()
                break
            log.warning("worker %s exited (status %s); starting another", p.pid, p.exitcode)
            workers[i] = start(i)
    # from here on only the workers hold the socket: it closes when the last one stops
    # accepting, and a connection made after that is refused, not left waiting
    sock.close()
    for p in workers:
        if p.is_alive() and p.pid is not None:
            os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + drain_seconds + drain_timeout + config.timeout_keep_alive + 10
    for p in workers:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            log.error("worker %s did not stop in time; killing it", p.pid)
            p.kill()
            p.join()
    if failed:
        sys.exit(STARTUP_FAILURE)
