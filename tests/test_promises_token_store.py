"""Promises of the token_store module that the suite left unguarded (docs/reliability.md)."""
