"""Promises of the session module that the suite left unguarded (docs/reliability.md)."""
