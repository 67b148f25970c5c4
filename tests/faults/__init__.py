"""Fault scripts, run by hand (README, "Security and operations"): not part of `make test`."""
