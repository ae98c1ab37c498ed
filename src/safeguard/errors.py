"""Errors a user can cause. Each carries a message for humans and a stable code for programs.

The CLI prints them on one line and exits non-zero; later the HTTP API maps them to 4xx
responses. Anything that is not a SafeguardError is a bug in safeguard.
"""

from __future__ import annotations


class SafeguardError(Exception):
    """Base class: a problem with the user's input or request, explained in words."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(SafeguardError):
    code = "bad_config"


class WorkerStopped(SafeguardError):
    """A hashing worker process that ended before its work was done: killed (out of memory),
    or a script that hashes at import time, which each worker process imports again."""

    code = "worker_stopped"


class InvalidSignal(SafeguardError):
    """A hash value or signal type that is not well formed."""

    code = "invalid_signal"


class FileProblem(SafeguardError):
    """A file that could not be read or decoded. `code` names the kind of problem."""

    def __init__(self, message: str, code: str = "unreadable") -> None:
        super().__init__(message)
        self.code = code


class BankNotFound(SafeguardError):
    code = "bank_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no bank named {name!r} (see `safeguard bank list`)")
        self.name = name


class BankExists(SafeguardError):
    code = "bank_exists"

    def __init__(self, name: str) -> None:
        super().__init__(f"a bank named {name!r} already exists")
        self.name = name


class ContentNotFound(SafeguardError):
    code = "content_not_found"


class Conflict(SafeguardError):
    """A change that collided with another made at the same moment (a row it read was
    changed or removed before it could write). Nothing was written; trying again decides."""

    code = "conflict"


class InvalidRequest(SafeguardError):
    """A bad argument: a threshold out of range, an empty name, a missing confirmation."""

    code = "invalid_request"


class ImportFormatError(SafeguardError):
    """A hash list that failed validation. `problems` lists (line number, message)."""

    code = "invalid_hash_list"

    def __init__(
        self, source: str, problems: list[tuple[int, str]], total: int | None = None
    ) -> None:
        total = len(problems) if total is None else total
        shown = 20
        lines = [f"line {n}: {msg}" for n, msg in problems[:shown]]
        if total > shown:
            lines.append(f"... and {total - shown} more")
        summary = f"{source}: {total} invalid line(s); nothing was imported"
        super().__init__(summary + "\n  " + "\n  ".join(lines))
        self.problems = problems
        self.total = total


class IndexNotReady(SafeguardError):
    """The match index is still loading (a server that has just started)."""

    code = "index_not_ready"


class AccessDenied(SafeguardError):
    """A missing, unknown or revoked API key, or one without the scope a route needs."""

    code = "access_denied"


class KeyNotFound(SafeguardError):
    code = "key_not_found"


class Forbidden(SafeguardError):
    """The caller is known but its roles do not allow this (HTTP 403)."""

    code = "forbidden"


class UserNotFound(SafeguardError):
    code = "user_not_found"


class CaseNotFound(SafeguardError):
    code = "case_not_found"


class RulesInvalid(SafeguardError):
    """A rule set that did not validate. `problems` lists (line number, message); nothing
    was applied and the active rule set stays."""

    code = "invalid_rules"

    def __init__(self, source: str, problems: list[tuple[int, str]]) -> None:
        lines = [f"line {n}: {msg}" if n else msg for n, msg in problems]
        super().__init__(
            f"{source}: {len(problems)} problem(s); nothing was applied\n  " + "\n  ".join(lines)
        )
        self.problems = problems


class NotFound(SafeguardError):
    """Something named by the request does not exist: a webhook, a job, a rule-set version
    (HTTP 404)."""

    code = "not_found"


class AlreadyExists(SafeguardError):
    """A name already taken: a user, a webhook (HTTP 409)."""

    code = "already_exists"


class FeedRejected(SafeguardError):
    """A batch of feed entries that failed a check (signature, order, chain, key, content):
    nothing of the batch was applied. `seq` names the first bad entry (None: the page)."""

    code = "feed_rejected"

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class PeerError(SafeguardError):
    """A peer that could not be reached or answered with an error (HTTP 502 when relayed)."""

    code = "peer_error"
