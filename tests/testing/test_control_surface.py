"""The control surface: JSON over HTTP that drives the emulated world from another process.

In process here (every route, every refusal), then as a harness in another language would
use it: ``andersen-ev emulator`` in a child process, a car plugged in through the surface,
and ``andersen-ev watch`` in a third process showing the power rise.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from andersen_ev.cli.errors import ExitCode
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser, Realism
from tests.cli_support import Reader, cli_command, emulator_process, process_env
from tests.processes import TIMEOUT, Children

pytestmark = pytest.mark.andersen_cloud(control_port=0)


class Control:
    """A raw client of the control surface."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url, self.http = url, http

    async def call(
        self, method: str, path: str, body: Any = None, *, data: bytes | None = None
    ) -> tuple[int, Any]:
        """``method path`` with ``body`` as JSON (or raw ``data``): status and decoded answer."""
        options: dict[str, Any] = {"data": data} if data is not None else {"json": body}
        async with self.http.request(method, self.url + path, **options) as resp:
            assert resp.content_type == "application/json"
            return resp.status, await resp.json()

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """The answer of a request that must succeed with ``status``."""
        got, answer = await self.call(method, path, body)
        assert got == status, answer
        return answer


@pytest.fixture
async def control(andersen_cloud: AndersenCloud) -> AsyncIterator[Control]:
    async with aiohttp.ClientSession() as http:
        yield Control(andersen_cloud.control_url, http)


async def test_it_is_served_on_loopback_only_when_asked() -> None:
    async with AndersenCloud() as cloud:
        with pytest.raises(RuntimeError, match="control_port"):
            _ = cloud.control_url
    async with AndersenCloud(control_port=0) as cloud:
        assert cloud.control_url.startswith("http://127.0.0.1:")
    with pytest.raises(RuntimeError):
        _ = cloud.control_url  # closed


async def test_users_and_chargers(control: Control, andersen_cloud: AndersenCloud) -> None:
    user = await control.ok("POST", "/users", {"email": "a@example.com", "password": "pw"}, 201)
    assert user["email"] == "a@example.com"
    assert user["username"]
    twice, answer = await control.call(
        "POST", "/users", {"email": "a@example.com", "password": "x"}
    )
    assert twice == 400
    assert "a@example.com" in answer["error"]
    added = await control.ok(
        "POST",
        "/chargers",
        {"owner": "a@example.com", "name": "Shed", "fields": {"sysTemperature": 31.5}},
        201,
    )
    assert (added["owner"], added["friendly_name"], added["car"]) == ("a@example.com", "Shed", None)
    assert added["status"]["sysTemperature"] == 31.5
    assert andersen_cloud.charger(added["id"]).friendly_name == "Shed"
    unowned = await control.ok("POST", "/chargers", {"device_id": "dev-free"}, 201)
    assert (unowned["id"], unowned["owner"]) == ("dev-free", None)
    shown = await control.ok("GET", f"/chargers/{added['id']}")
    assert shown["id"] == added["id"]
    state = await control.ok("GET", "/state")
    assert [u["email"] for u in state["users"]] == ["a@example.com"]
    assert {c["id"] for c in state["chargers"]} == {added["id"], "dev-free"}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error"),
    [
        ("POST", "/users", {"email": "a@example.com"}, 400, "'password' is required"),
        ("POST", "/users", {"email": 3, "password": "pw"}, 400, "wrong type"),
        ("POST", "/chargers", {"owner": "nobody@example.com"}, 404, "no user"),
        ("POST", "/chargers", {"fields": {"noSuchField": 1}}, 400, "noSuchField"),
        ("GET", "/chargers/dev-nope", None, 404, "no charger 'dev-nope'"),
        ("POST", "/chargers/dev-nope/plug-in", {}, 404, "no charger"),
        ("POST", "/clock/advance", {"seconds": -1}, 400, "must not be negative"),
        ("POST", "/clock/advance", {"seconds": True}, 400, "wrong type"),
        ("POST", "/clock/speed", {"speed": -1}, 400, "must not be negative"),
        ("POST", "/faults", {"meteor_strike": 1}, 400, "unknown fault"),
        ("POST", "/tokens/revoke", {"email": "nobody@example.com"}, 404, "no user"),
        ("POST", "/users", [1, 2], 400, "must be a JSON object"),
    ],
)
async def test_refusals_say_what_is_wrong(
    control: Control, method: str, path: str, body: Any, status: int, error: str
) -> None:
    got, answer = await control.call(method, path, body)
    assert got == status
    assert error in answer["error"]


async def test_a_body_that_is_not_json_is_refused(control: Control) -> None:
    got, answer = await control.call("POST", "/users", data=b"{nope")
    assert got == 400
    assert answer["error"].startswith("the body is not JSON")


async def test_a_car_plugs_in_charges_and_unplugs(
    control: Control, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    path = f"/chargers/{andersen_charger.id}"
    plugged = await control.ok("POST", f"{path}/plug-in", {"energy_wanted_kwh": 2})
    assert plugged["car"] == {"energy_wanted_kwh": 2, "max_power_kw": 7.2, "delivered_kwh": 0}
    assert plugged["evse_state"] == 2
    again, answer = await control.call("POST", f"{path}/plug-in", {})
    assert again == 400
    assert "already" in answer["error"]
    clock = await control.ok("POST", "/clock/advance", {"seconds": 600})
    assert clock["chargers"][andersen_charger.id] == andersen_charger.now.isoformat()
    charging = await control.ok("GET", path)
    assert charging["car"]["delivered_kwh"] > 0
    assert charging["status"]["chargeStatus"]["chargePower"] > 0
    unplugged = await control.ok("POST", f"{path}/unplug")
    assert unplugged["logged_session"]["energy_kwh"] > 0
    assert unplugged["charger"]["car"] is None
    nothing = await control.ok("POST", f"{path}/unplug")
    assert nothing["logged_session"] is None
    never_full = await control.ok("POST", f"{path}/plug-in", {"energy_wanted_kwh": None})
    assert never_full["car"]["energy_wanted_kwh"] is None


async def test_a_charger_goes_offline_fails_and_is_set(
    control: Control, andersen_charger: Charger
) -> None:
    path = f"/chargers/{andersen_charger.id}"
    assert (await control.ok("POST", f"{path}/online", {"online": False}))["online"] is False
    assert andersen_charger.online is False
    assert (await control.ok("POST", f"{path}/online", {"online": True}))["online"] is True
    failed = await control.ok("POST", f"{path}/error", {"code": 7})
    assert (failed["status"]["sysFaultCode"], failed["evse_state"]) == (7, 4)
    cleared = await control.ok("POST", f"{path}/error", {"code": 0})
    assert cleared["status"]["sysFaultCode"] == 0
    changed = await control.ok("POST", f"{path}/set", {"sysTemperature": 40.0})
    assert changed["status"]["sysTemperature"] == 40.0
    got, answer = await control.call("POST", f"{path}/set", {"sysNoSuch": 1})
    assert got == 400
    assert "sysNoSuch" in answer["error"]


async def test_the_clock(
    control: Control, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    before = andersen_charger.now
    shown = await control.ok("GET", "/clock")
    assert shown["chargers"] == {andersen_charger.id: before.isoformat()}
    await control.ok("POST", "/clock/advance", {"seconds": 90})
    assert (andersen_charger.now - before).total_seconds() == 90
    fast = await control.ok("POST", "/clock/speed", {"speed": 0})
    assert fast["speed"] == 0
    andersen_charger.set(sysUserLock=False)
    settled = await control.ok("POST", "/clock/settle")
    assert settled["advanced"] >= 0


@pytest.mark.andersen_cloud(control_port=0, realism=Realism(real_time_commands=False))
async def test_a_pending_command_shows_and_settles(
    control: Control, andersen_cloud: AndersenCloud, andersen_charger: Charger
) -> None:
    andersen_charger.run_command("userLock")
    path = f"/chargers/{andersen_charger.id}"
    assert (await control.ok("GET", path))["pending_commands"] == ["userLock"]
    settled = await control.ok("POST", "/clock/settle")
    assert 1 <= settled["advanced"] <= 2
    after = await control.ok("GET", path)
    assert (after["pending_commands"], after["status"]["sysUserLock"]) == ([], True)


async def test_faults_tokens_websockets_and_counters(
    control: Control, andersen_cloud: AndersenCloud, andersen_user: EmulatedUser
) -> None:
    faults = await control.ok("POST", "/faults", {"http_failures": 2, "latency": 0.5})
    assert (faults["http_failures"], faults["latency"]) == (2, 0.5)
    assert andersen_cloud.faults.http_failures == 2
    assert (await control.ok("GET", "/faults"))["latency"] == 0.5
    cleared = await control.ok("DELETE", "/faults")
    assert (cleared["http_failures"], cleared["latency"]) == (0, 0.0)
    assert await control.ok("POST", "/tokens/expire") == {"expired": True}
    revoked = await control.ok("POST", "/tokens/revoke", {"email": andersen_user.email})
    assert revoked == {"revoked": 0}
    assert await control.ok("POST", "/websockets/drop") == {"dropped": 0}
    stats = await control.ok("GET", "/stats")
    assert stats["faults_injected"] == {"token_expiry": 1, "websocket_drop": 0}
    assert (stats["http_requests"], stats["refreshes"], stats["graphql_requests"]) == (0, 0, {})


# -- from other processes, as a harness in any language drives it ------------------------------


def post(url: str, body: dict[str, Any]) -> Any:
    """POST ``body`` as JSON to a loopback URL (blocking: this test is a plain function)."""
    request = urllib.request.Request(  # noqa: S310 - a loopback http URL of the test's own
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
        return json.loads(response.read())


@pytest.mark.timeout(120)
def test_a_car_plugged_in_from_another_process_shows_in_watch(
    tmp_path: Path, children: Children
) -> None:
    """The emulator's clock stands still (``--speed 0``) and moves only when the harness
    says, so the power rises frame by frame whatever the machine's speed."""
    env = process_env(tmp_path)
    command = cli_command("emulator", "--speed", "0")
    with emulator_process(children, env=env, command=command) as cloud:
        control, device_id = cloud.line["control_url"], cloud.line["device_id"]
        login = children.run(
            cli_command(
                "login", cloud.line["email"], "--password-stdin", "--endpoints", cloud.text
            ),
            env=env,
            stdin=cloud.line["password"],
        )
        assert login.returncode == ExitCode.OK, login.stderr
        plugged = post(f"{control}/chargers/{device_id}/plug-in", {"energy_wanted_kwh": 40})
        assert plugged["evse_state"] == 2
        watch = children.popen(
            cli_command("watch", "--count", "5"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert watch.stdout is not None
        reader = Reader(watch.stdout.fileno())
        reader.until(" kW")  # the first frame: watch follows the charger
        for _ in range(200):
            if watch.poll() is not None:
                break
            post(f"{control}/clock/advance", {"seconds": 2})
            time.sleep(0.05)  # pace the harness; the clock moves only on request
        text = reader.rest()
        assert watch.wait(timeout=TIMEOUT) == ExitCode.OK
    frames = text.splitlines()[1:]
    assert len(frames) == 5, text
    powers = [float(re.findall(r"([\d.]+) kW", frame)[0]) for frame in frames]
    assert powers[-1] > powers[0], powers
    assert "charging" in frames[-1]
