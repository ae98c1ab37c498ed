"""Who reports and where reports go: read from the environment once, at the edges (the CLI,
the server), like `safeguard.config.Settings`.

SAFEGUARD_REPORTER_ORG         the reporting platform's name (required to send)
SAFEGUARD_REPORTER_FIRST_NAME  the contact person NCMEC and the NCA may call back
SAFEGUARD_REPORTER_LAST_NAME
SAFEGUARD_REPORTER_EMAIL
SAFEGUARD_REPORTER_PHONE       optional
SAFEGUARD_REPORTER_URL         the platform's web address, optional
SAFEGUARD_NCMEC_URL            the CyberTipline API (default: NCMEC's test environment)
SAFEGUARD_NCMEC_USERNAME       CyberTipline API credentials (from NCMEC, per environment)
SAFEGUARD_NCMEC_PASSWORD
"""

from __future__ import annotations

from dataclasses import dataclass, field

from safeguard import _env
from safeguard.errors import ConfigError
from safeguard.refer.model import Reporter

#: NCMEC's test environment: reports sent there are never acted on (the default)
NCMEC_TEST_URL = "https://exttest.cybertip.org/ispws"
NCMEC_PRODUCTION_URL = "https://report.cybertip.org/ispws"


@dataclass(frozen=True)
class ReferralConfig:
    reporter: Reporter
    ncmec_url: str = NCMEC_TEST_URL
    ncmec_username: str | None = None
    ncmec_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> ReferralConfig:
        return cls(
            reporter=Reporter(
                org_name=_env.text("SAFEGUARD_REPORTER_ORG") or "",
                contact_first_name=_env.text("SAFEGUARD_REPORTER_FIRST_NAME") or "",
                contact_last_name=_env.text("SAFEGUARD_REPORTER_LAST_NAME") or "",
                contact_email=_env.text("SAFEGUARD_REPORTER_EMAIL") or "",
                contact_phone=_env.text("SAFEGUARD_REPORTER_PHONE"),
                url=_env.text("SAFEGUARD_REPORTER_URL"),
            ),
            ncmec_url=(_env.text("SAFEGUARD_NCMEC_URL") or NCMEC_TEST_URL).rstrip("/"),
            ncmec_username=_env.text("SAFEGUARD_NCMEC_USERNAME"),
            ncmec_password=_env.raw("SAFEGUARD_NCMEC_PASSWORD"),
        )

    def ncmec_credentials(self) -> tuple[str, str]:
        if not self.ncmec_username or not self.ncmec_password:
            raise ConfigError(
                "no CyberTipline credentials: set SAFEGUARD_NCMEC_USERNAME and "
                "SAFEGUARD_NCMEC_PASSWORD (NCMEC issues them; docs/referrals.md)"
            )
        return self.ncmec_username, self.ncmec_password
