"""The package version, in one place (read by the build backend and at run time)."""

__version__ = "0.2.0.dev0"
