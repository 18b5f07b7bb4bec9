"""The `mc-verify` command line: one module per command group, wired in `main`."""
