"""The HTTP service: safeguard's library API over FastAPI, with API keys and limits.

- `app`: `create_app()` and the uvicorn factory; the runtime each process holds;
- `settings`: `ServiceSettings` from `SAFEGUARD_*` variables (roles, limits, URL fetching);
- `auth`, `ratelimit`: bearer API keys with scopes, per-key request budgets;
- `uploads`: body-size limits, reading uploads, fetching `?url=` safely;
- `follower`: the background thread that keeps this process's index current;
- `errors`, `metrics`: JSON errors with stable codes, Prometheus metrics;
- `routes/`: `/v1/...` (ours), `hma` (HMA 2.x compatible), `health`.
"""

from safeguard.api.app import create_app

__all__ = ["create_app"]
