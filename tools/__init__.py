"""Scripts for maintainers (not shipped): run them from the repository root."""
