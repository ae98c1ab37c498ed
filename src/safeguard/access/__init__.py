"""Who may do what: API keys with scopes today; moderator accounts and roles later.

The HTTP service asks `KeyService.verify(token)` for the key behind a bearer token and
checks its scopes; creating and revoking keys is recorded in the change log like every other
state change.
"""

from safeguard.access.keys import SCOPES, ApiKeyInfo, KeyService, NewKey

__all__ = ["SCOPES", "ApiKeyInfo", "KeyService", "NewKey"]
