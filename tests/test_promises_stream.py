"""Promises of the stream module that the suite left unguarded (docs/reliability.md)."""
