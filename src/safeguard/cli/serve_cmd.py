"""`safeguard serve`: run the HTTP service (FastAPI on uvicorn) over this store."""

from __future__ import annotations

import contextlib
import os
import tempfile

import typer

from safeguard.cli.context import state
from safeguard.cli.output import err_console
from safeguard.extras import require
from safeguard.store import Database


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, help="Server processes."),
    roles: str | None = typer.Option(
        None,
        "--roles",
        help="Route groups to serve: hash,match,curate,admin (default: all; SAFEGUARD_API_ROLES).",
    ),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level."),
) -> None:
    """Serve the HTTP API: /v1 routes, HMA-compatible /h /m /c routes, /status, /metrics.

    Every route but the health checks needs an API key: create one with
    `safeguard keys create NAME --scope match`.
    """
    uvicorn = require("uvicorn", "server", "safeguard serve")
    require("fastapi", "server", "safeguard serve")
    from safeguard.api.settings import ServiceSettings

    settings = state.get_settings()
    if roles is not None:
        os.environ["SAFEGUARD_API_ROLES"] = roles
    ServiceSettings.from_env()  # refuse bad settings here, not in every worker
    Database.open(settings.database_url, migrate=True).close()  # migrate once, not per worker
    os.environ["SAFEGUARD_HOME"] = str(settings.home)
    os.environ["SAFEGUARD_DATABASE_URL"] = settings.database_url
    with contextlib.ExitStack() as cleanup:
        if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # the workers' shared metrics files live as long as this server
            metrics = cleanup.enter_context(
                tempfile.TemporaryDirectory(prefix="safeguard-metrics-")
            )
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics
        err_console.print(f"safeguard serving on http://{host}:{port} with {workers} worker(s)")
        uvicorn.run(
            "safeguard.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,
            server_header=False,
        )
