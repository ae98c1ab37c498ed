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
dies, and on SIGTERM hands the socket to the workers alone and lets each drain.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType

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

    def __init__(self, config: uvicorn.Config, drain_seconds: float, drain_timeout: float):
        super().__init__(config)
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

    async def on_tick(self, counter: int) -> bool:
        if self._drain_ends is not None and time.monotonic() >= self._drain_ends:
            self.should_exit = True
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting first, then give each connection a moment to end after its next
        response, so a request already on its way is answered, not cut; what remains
        (connections idle that long, and requests still running) is left to uvicorn's
        shutdown, which closes idle connections and waits for the rest."""
        STATE.closing = True
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


def _worker(config: uvicorn.Config, sockets: list[socket.socket], drain: float, timeout: float):
    """A worker process: one GracefulServer on the supervisor's listening socket."""
    config.configure_logging()
    _serve(GracefulServer(config, drain, timeout), sockets)


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
    spawn = multiprocessing.get_context("spawn")
    sock = config.bind_socket()
    stop = threading.Event()

    def start() -> multiprocessing.process.BaseProcess:
        p = spawn.Process(target=_worker, args=(config, [sock], drain_seconds, drain_timeout))
        p.start()
        return p

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    workers = [start() for _ in range(config.workers)]
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
            workers[i] = start()
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
