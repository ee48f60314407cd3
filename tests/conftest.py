"""Shared fixtures: the emulator's pytest plugin (loaded explicitly so coverage sees it) and
the scripted GraphQL server, and logged-in clients."""

pytest_plugins = [
    "andersen_ev.testing.pytest_plugin",
    "tests.scripted_server",
    "tests.client_fixtures",
    "tests.processes",
    "tests.raw_server",
]
