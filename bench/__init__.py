"""End-to-end checks of a running service: `make demo`."""
