"""`safeguard serve`: run the HTTP service (FastAPI on uvicorn) over this store.

Shutdown and worker supervision are in `safeguard.api.server` (drain on SIGTERM). With
`SAFEGUARD_API_OPEN_HMA` it refuses to listen anywhere but on loopback or private addresses.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import tempfile

import typer

from safeguard.cli.context import state
from safeguard.cli.output import err_console
from safeguard.errors import ConfigError
from safeguard.extras import require
from safeguard.store import Database


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes."),
    roles: str | None = typer.Option(
        None,
        "--roles",
        help=(
            "Route groups to serve: hash,match,curate,events,review,audit,admin and ui "
            "(the web UI) (default: all; SAFEGUARD_API_ROLES)."
        ),
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the HTTP API: /v1 routes, HMA-compatible /h /m /c routes, /status, /metrics.

    Every route but the health checks needs an API key: create one with
    `safeguard keys create NAME --scope match`.
    """
    uvicorn = require("uvicorn", "server", "safeguard serve")
    require("fastapi", "server", "safeguard serve")
    from safeguard.api import server
    from safeguard.api.settings import ServiceSettings, worker_environment

    settings = state.get_settings()
    # the server processes read their settings from the environment (worker_environment)
    os.environ.update(worker_environment(settings, roles))
    service = ServiceSettings.from_env()  # refuse bad settings here, not in every worker
    if service.open_hma:
        problem = not_private(host)
        if problem:
            raise ConfigError(
                f"SAFEGUARD_API_OPEN_HMA serves the HMA routes without a key, so it needs a "
                f"loopback or private listen address; --host {host} {problem}"
            )
        err_console.print(
            "[bold red]WARNING: SAFEGUARD_API_OPEN_HMA is on: /h, /m and /c answer WITHOUT "
            f"an API key to anyone who can reach {host}:{port}.[/bold red]"
        )
    Database.open(settings.database_url, migrate=True).close()  # migrate once, not per worker
    with contextlib.ExitStack() as cleanup:
        if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # the workers' shared metrics files live as long as this server
            metrics = cleanup.enter_context(
                tempfile.TemporaryDirectory(prefix="safeguard-metrics-")
            )
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics
        err_console.print(f"safeguard serving on http://{host}:{port} with {workers} worker(s)")
        config = uvicorn.Config(
            "safeguard.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            server_header=False,
        )
        server.run(config, service.drain_seconds, service.drain_timeout)


def not_private(host: str) -> str | None:
    """Why `host` is not a loopback or private address only (None when it is). The
    unspecified address (0.0.0.0, ::) is refused: it listens on public interfaces too."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as e:
        return f"does not resolve ({e})"
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if addr.is_unspecified:
            return f"is {addr}, which listens on every interface, public ones included"
        if not (addr.is_loopback or addr.is_private):
            return f"resolves to {addr}, a public address"
    return None
