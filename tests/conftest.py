"""Shared fixtures: the emulator's pytest plugin, loaded explicitly so coverage sees it."""

pytest_plugins = ["andersen_ev.testing.pytest_plugin"]
