"""The moderators' web UI under /ui: server-rendered pages on the same library calls as the
CLI and the API (docs/ui.md). It holds no logic of its own: who may see or decide what is
checked by the library (`safeguard.access`, `safeguard.review`), and every page is one or
two library calls rendered by a Jinja2 template.

    session.py   the login cookie, CSRF checks, security headers
    render.py    templates, navigation by role, flash messages, HTML error pages
    pages/       one module per area: auth, queue, cases, banks, rules, referrals,
                 stats, dashboard, account
    templates/   Jinja2 templates; static/: the stylesheet and a small script (keyboard
                 shortcuts, import progress), no build step
"""

from safeguard.web.app import install

__all__ = ["install"]
