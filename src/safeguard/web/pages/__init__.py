"""One router per area of the web UI (docs/ui.md); each page is one or two library calls."""
