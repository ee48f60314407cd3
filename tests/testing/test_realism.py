"""``Realism``: the knobs of the real service's habits, checked as they are given."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from andersen_ev.testing import Realism


def test_the_defaults_are_the_real_service_s_habits() -> None:
    realism = Realism(wire_variants=False)
    assert realism.delay_range == (1.0, 2.0)
    assert (realism.get_solar, realism.null_command_results) == ("stale", True)
    assert dataclasses.replace(Realism.of(True), wire_variants=False) == realism
    assert Realism.of(realism) is realism
    kind = Realism.of(False)
    assert (kind.delay_range, kind.get_solar, kind.null_command_results) == ((0, 0), "live", False)


@pytest.mark.parametrize(
    ("delay", "expected"), [(0, (0.0, 0.0)), (1.5, (1.5, 1.5)), ((1, 3), (1.0, 3.0))]
)
def test_a_delay_is_a_number_or_a_range(delay: Any, expected: tuple[float, float]) -> None:
    assert Realism(command_delay=delay).delay_range == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"command_delay": -1}, "command_delay"),
        ({"command_delay": (2, 1)}, "command_delay"),
        ({"get_solar": "sometimes"}, "get_solar"),
    ],
)
def test_nonsense_is_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Realism(**options)
