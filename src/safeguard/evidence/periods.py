"""How long preserved evidence is kept once its clock starts, by what started it.

  ncmec_report  one year from the CyberTipline report: 18 U.S.C. 2258A(h) as amended by the
                REPORT Act (Public Law 118-59, 2024), which raised it from 90 days; fixed,
                since the law sets it (a provider may keep material longer, never shorter)
  nca_report    the UK's NCA reporting regime: one year unless SAFEGUARD_RETENTION_NCA_DAYS
                says otherwise (docs/moderation.md says what is and is not confirmed)
  decision      a decided case that was not reported: 90 days unless
                SAFEGUARD_RETENTION_DECISION_DAYS says otherwise, long enough for a report,
                an appeal or a legal hold to follow the decision, and no longer

A year is a calendar year (a clock started on 1 March ends on 1 March, whether or not a
29 February falls between), so "one year" is never a day short; a year from 29 February
ends on 1 March.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from safeguard import _env
from safeguard.errors import ConfigError, InvalidRequest

#: what may start an item's retention clock
REASONS = ("ncmec_report", "nca_report", "decision")

NCA_DAYS_ENV = "SAFEGUARD_RETENTION_NCA_DAYS"
DECISION_DAYS_ENV = "SAFEGUARD_RETENTION_DECISION_DAYS"
#: the longest period a variable may set (100 years): a larger number is a typo
_MAX_DAYS = 36_525


@dataclass(frozen=True)
class Period:
    """A retention period: calendar years and days."""

    years: int = 0
    days: int = 0

    def after(self, at: datetime) -> datetime:
        """The end of the period that starts at `at`."""
        end = at
        if self.years:
            try:
                end = end.replace(year=end.year + self.years)
            except ValueError:  # 29 February in a year without one: the day after
                end = end.replace(year=end.year + self.years, month=3, day=1)
        return end + timedelta(days=self.days)

    def describe(self) -> str:
        parts = []
        if self.years:
            parts.append(f"{self.years} year{'s' if self.years != 1 else ''}")
        if self.days or not parts:
            parts.append(f"{self.days} day{'s' if self.days != 1 else ''}")
        return " and ".join(parts)


@dataclass(frozen=True)
class RetentionPolicy:
    """The period of each reason a clock may start for."""

    ncmec_report: Period = field(default_factory=lambda: Period(years=1))
    nca_report: Period = field(default_factory=lambda: Period(years=1))
    decision: Period = field(default_factory=lambda: Period(days=90))

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        """The UK and decision periods from SAFEGUARD_RETENTION_NCA_DAYS and
        SAFEGUARD_RETENTION_DECISION_DAYS (whole days, 1 or more); unset: the defaults."""
        default = cls()
        return cls(
            nca_report=_days(NCA_DAYS_ENV, default.nca_report),
            decision=_days(DECISION_DAYS_ENV, default.decision),
        )

    def period(self, reason: str) -> Period:
        if reason not in REASONS:
            raise InvalidRequest(f"unknown clock reason {reason!r}: use {', '.join(REASONS)}")
        return {
            "ncmec_report": self.ncmec_report,
            "nca_report": self.nca_report,
            "decision": self.decision,
        }[reason]

    def to_json(self) -> dict[str, str]:
        return {r: self.period(r).describe() for r in REASONS}


def _days(name: str, default: Period) -> Period:
    if _env.raw(name) is None:
        return default
    days = _env.integer(name, 0, 1)
    if days > _MAX_DAYS:
        raise ConfigError(f"{name} must be at most {_MAX_DAYS} days, got {days}")
    return Period(days=days)


def aware(at: datetime) -> datetime:
    """`at` in UTC; a time without a zone is taken to be UTC."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
