"""HTTP routes, one module per role: hashing, matching, curation, admin; HMA-compatible
routes in `hma`; health checks in `health`."""
