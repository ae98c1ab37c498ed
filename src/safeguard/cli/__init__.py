"""The `safeguard` command line: one module per command group."""
