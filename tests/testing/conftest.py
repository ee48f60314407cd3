"""The emulator's own tests read its canonical wire format: one type per field.

The wire variants (``nox -s tests_wire_variants``) are for the library's tests; here they
are switched off on the ``andersen_cloud`` fixture, and tested on purpose in
``test_wire_variants.py``.
"""

from __future__ import annotations

import dataclasses

import pytest

from andersen_ev.testing import AndersenCloud


@pytest.fixture(autouse=True)
def canonical_wire(request: pytest.FixtureRequest) -> None:
    """Answers in the schema's own types, whatever the environment asks for."""
    if "andersen_cloud" in request.fixturenames:
        cloud: AndersenCloud = request.getfixturevalue("andersen_cloud")
        cloud.realism = dataclasses.replace(cloud.realism, wire_variants=False)
