"""The SRP maths in slices: the same results as pow(), and the loop never held for long.

A 3072-bit modular exponentiation costs milliseconds to tens of milliseconds; a login needs
three, and a worker thread would hold the GIL through each. So srp.py cuts them into steps
and andersen_ev.auth.compute.finish runs the steps on the loop, handing it back after each
slice.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andersen_ev import InvalidInputError, srp
from andersen_ev.auth import compute
from andersen_ev.auth.compute import finish
from tests.test_auth_network import answer, fake_service, refusal, run_session


@given(
    base=st.integers(min_value=0, max_value=srp.N * 2),
    exponent=st.integers(min_value=0, max_value=1 << 600),
    modulus=st.sampled_from([srp.N, 1, 2, 97, (1 << 127) - 1]),
)
def test_power_steps_compute_what_pow_computes(base: int, exponent: int, modulus: int) -> None:
    assert srp.run_steps(srp.power_steps(base, exponent, modulus)) == pow(base, exponent, modulus)


def test_power_steps_are_small() -> None:
    """One step per five bits of exponent, and per four entries of the table: 110 steps."""
    steps = srp.power_steps(secrets.randbelow(srp.N), (1 << 511) | secrets.randbits(511))
    count = 0
    while True:
        try:
            next(steps)
        except StopIteration:
            break
        count += 1
    assert count == 103 + 7  # ceil(512 / 5) windows, 7 slices of the 30-entry table


@pytest.mark.parametrize(("exponent", "modulus"), [(-1, srp.N), (1, 0), (1, -5)])
def test_power_steps_refuse_negative_exponents_and_moduli(exponent: int, modulus: int) -> None:
    with pytest.raises(InvalidInputError):
        srp.run_steps(srp.power_steps(2, exponent, modulus))


def test_the_steps_give_the_plain_functions_results() -> None:
    a, x, big_b = secrets.randbits(256), secrets.randbits(256), secrets.randbelow(srp.N)
    assert srp.client_public(a) == pow(srp.G, a, srp.N)
    assert srp.verifier(x) == pow(srp.G, x, srp.N)
    u, premaster = srp.client_session_key(a, big_b, x)
    assert premaster == pow((big_b - srp.K * pow(srp.G, x, srp.N)) % srp.N, a + u * x, srp.N)
    assert srp.run_steps(srp.client_session_key_steps(a, big_b, x)) == (u, premaster)


async def test_finish_hands_the_loop_back_after_each_slice() -> None:
    ticks = 0
    running = True

    async def other_task() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.get_running_loop().create_task(other_task())
    await asyncio.sleep(0)
    exponent = secrets.randbits(512)
    result = await finish(srp.power_steps(3, exponent), slice_seconds=0)
    running = False
    await task
    assert result == pow(3, exponent, srp.N)
    assert ticks >= 100  # the other task ran between (nearly) every two steps


async def test_finish_passes_errors_on() -> None:
    with pytest.raises(ValueError, match="zero modulo N"):
        await finish(srp.client_session_key_steps(5, srp.N, 7))


@pytest.fixture
def one_piece_maths_forbidden(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make srp.run_steps (SRP maths in one piece) fail, and record finish's slices."""
    slices: list[str] = []

    def refuse(steps: object) -> object:
        raise AssertionError("SRP maths ran in one piece on the event loop")

    real_finish = compute.finish

    async def counting(steps: srp.Steps[object], **options: float) -> object:
        slices.append("finish")
        return await real_finish(steps, **options)

    monkeypatch.setattr(srp, "run_steps", refuse)
    for module in ("challenges", "device"):
        monkeypatch.setattr(f"andersen_ev.auth.{module}.finish", counting)
    return slices


async def test_a_login_and_device_confirmation_run_all_srp_maths_in_slices(
    one_piece_maths_forbidden: list[str],
) -> None:
    """Password proof (A, then S), and the device verifier: never srp.run_steps."""
    async with fake_service() as fake:
        error = await run_session(fake, "refresh", answer(refusal("NotAuthorizedException"), 400))
    assert "session has ended" in str(error)  # it got through login and confirmation
    assert one_piece_maths_forbidden == ["finish"] * 3
