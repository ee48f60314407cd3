"""Promises of the srp module that the suite left unguarded (docs/reliability.md)."""
