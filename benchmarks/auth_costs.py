"""What logging in and living on stored tokens cost: loop stalls, process CPU, import time.

Run: ``python benchmarks/auth_costs.py [--seed-python PATH]``. The emulator runs in another
process, so every figure is the client's alone:

* the longest stall of the event loop during a cold first login (``authenticate`` then
  ``confirm_device``), seen by a heartbeat task that measures its own lateness in wall
  time and in process CPU time (which a busy machine's scheduling does not inflate), and
  the CPU of the longest single callback the loop ran, per fresh process, as the median
  and the maximum over several processes;
* the CPU (user + system, of the whole child process) of loading stored tokens and
  refreshing them once, of a cold ``andersen-ev status`` with stored tokens, and of the
  seed's (andersen-ev 0.1.4) log-in-and-read process when ``--seed-python`` is given;
* whether botocore was imported on the stored-tokens path;
* ``python -X importtime -c "import andersen_ev"``: the cumulative import time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from query import Emulator, start_emulator

PROCESSES = 5

LOGIN_STALLS = """
import asyncio, asyncio.events, json, sys, time
from andersen_ev import AndersenA2, Endpoints

longest = 0.0
run_handle = asyncio.events.Handle._run

def timed_run(handle):
    # the CPU of each callback the loop runs (a task's step between two awaits)
    global longest
    cpu = time.process_time()
    run_handle(handle)
    longest = max(longest, time.process_time() - cpu)

asyncio.events.Handle._run = timed_run

async def main() -> None:
    line = json.loads(sys.argv[1])
    worst = worst_cpu = 0.0
    running = True

    async def heartbeat() -> None:
        # wall lateness includes the OS descheduling the process on a busy machine; the
        # process CPU used between two beats is what the loop (or a thread holding the
        # GIL) spent meanwhile, whatever the machine's load
        nonlocal worst, worst_cpu
        while running:
            start, cpu = time.perf_counter(), time.process_time()
            await asyncio.sleep(0.0005)
            worst = max(worst, time.perf_counter() - start - 0.0005)
            worst_cpu = max(worst_cpu, time.process_time() - cpu)

    beat = asyncio.get_running_loop().create_task(heartbeat())
    await asyncio.sleep(0.01)
    async with AndersenA2(endpoints=Endpoints(**line["endpoints"])) as a2:
        await a2.authenticate(line["email"], line["password"])
        login, login_cpu = worst, worst_cpu
        await a2.confirm_device("bench")
    running = False
    await beat
    print(json.dumps(
        {"login": login, "login_cpu": login_cpu, "all_cpu": worst_cpu, "callback": longest}
    ))

asyncio.run(main())
"""

STORED_REFRESH = """
import asyncio, json, sys
from andersen_ev import AndersenA2, Endpoints, TokenStore

async def main() -> None:
    line = json.loads(sys.argv[1])
    store = TokenStore(sys.argv[2])
    tokens = await store.load()
    async with AndersenA2(
        endpoints=Endpoints(**line["endpoints"]), tokens=tokens, on_tokens_updated=store.update
    ) as a2:
        await a2.auth.refresh()
    print(json.dumps({"botocore": "botocore" in sys.modules}))

asyncio.run(main())
"""

SAVE_TOKENS = """
import asyncio, json, sys
from andersen_ev import AndersenA2, Endpoints, TokenStore

async def main() -> None:
    line = json.loads(sys.argv[1])
    async with AndersenA2(endpoints=Endpoints(**line["endpoints"])) as a2:
        await a2.authenticate(line["email"], line["password"])
        await a2.confirm_device("bench")
        await TokenStore(sys.argv[2]).save(a2.tokens)

asyncio.run(main())
"""

SEED_LOGIN_AND_READ = """
import json, sys
from andersen_ev import andersen, auth  # the SEED package (0.1.4)

line = json.loads(sys.argv[1])
auth.ANDERSEN_GRAPHQL_PROD = andersen.ANDERSEN_GRAPHQL_PROD = line["endpoints"]["graphql_url"]
client = andersen.AndersenA2()
client.authenticate(line["email"], line["password"])
client.get_device(line["device_id"])
"""


def child_cpu(
    command: list[str], env: dict[str, str] | None = None
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """CPU seconds (user + system) of one child process, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done


def median_cpu(command: list[str], env: dict[str, str] | None = None) -> float:
    """Median CPU seconds of PROCESSES runs of ``command``."""
    return statistics.median(child_cpu(command, env)[0] for _ in range(PROCESSES))


def import_time() -> float:
    """Median cumulative microseconds of ``import andersen_ev`` (``-X importtime``)."""
    runs = []
    for _ in range(PROCESSES):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import andersen_ev"],
            capture_output=True,
            text=True,
            check=True,
        )
        for row in done.stderr.splitlines():
            fields = [field.strip() for field in row.split("|")]
            if len(fields) == 3 and fields[2] == "andersen_ev":  # noqa: PLR2004
                runs.append(float(fields[1]))
    return statistics.median(runs)


def login_stalls(emulator: Emulator) -> dict[str, object]:
    """Longest loop stall during a cold login, median and maximum over fresh processes."""
    logins: list[float] = []
    cpu: list[float] = []
    callbacks: list[float] = []
    with_confirm: list[float] = []
    for _ in range(PROCESSES):
        done = subprocess.run(
            [sys.executable, "-c", LOGIN_STALLS, json.dumps(emulator.line)],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(done.stdout)
        logins.append(figures["login"])
        cpu.append(figures["login_cpu"])
        with_confirm.append(figures["all_cpu"])
        callbacks.append(figures["callback"])
    return {
        "login_stall_wall_median_ms": statistics.median(logins) * 1e3,
        "login_stall_wall_max_ms": max(logins) * 1e3,
        "login_stall_cpu_median_ms": statistics.median(cpu) * 1e3,
        "login_stall_cpu_max_ms": max(cpu) * 1e3,
        "login_and_confirm_stall_cpu_max_ms": max(with_confirm) * 1e3,
        "longest_callback_cpu_median_ms": statistics.median(callbacks) * 1e3,
        "longest_callback_cpu_max_ms": max(callbacks) * 1e3,
    }


def stored_tokens(emulator: Emulator, seed_python: Path | None) -> dict[str, object]:
    """CPU of the stored-tokens processes (and of the seed's login-and-read process)."""
    line = json.dumps(emulator.line)
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as config:
        tokens = Path(config) / "andersen-ev" / "tokens.json"
        subprocess.run([sys.executable, "-c", SAVE_TOKENS, line, str(tokens)], check=True)
        command = [sys.executable, "-c", STORED_REFRESH, line, str(tokens)]
        results["stored_refresh_cpu_ms"] = median_cpu(command) * 1e3
        results["botocore_on_stored_path"] = json.loads(child_cpu(command)[1].stdout)["botocore"]
        env = dict(os.environ, XDG_CONFIG_HOME=config, ANDERSEN_EV_ENDPOINTS=line)
        cli = [str(Path(sys.executable).with_name("andersen-ev")), "status"]
        results["cli_status_cpu_ms"] = median_cpu(cli, env) * 1e3
    results["bare_python_cpu_ms"] = median_cpu([sys.executable, "-c", "pass"]) * 1e3
    if seed_python is not None:
        endpoints = emulator.line["endpoints"]
        env = dict(os.environ, AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=endpoints["cognito_url"])
        env.pop("PYTHONPATH", None)  # the seed's own package, not this tree's
        jwks = f"{endpoints['cognito_url']}{endpoints['user_pool_id']}/.well-known/jwks.json"
        env["COGNITO_JWKS"] = subprocess.run(
            ["curl", "-s", jwks], capture_output=True, text=True, check=True
        ).stdout
        seed = [str(seed_python), "-c", textwrap.dedent(SEED_LOGIN_AND_READ), line]
        results["seed_login_and_read_cpu_ms"] = median_cpu(seed, env) * 1e3
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed-python", type=Path, help="python of a venv with andersen-ev 0.1.4")
    parser.add_argument("--stalls-only", action="store_true", help="only the login's stalls")
    args = parser.parse_args()
    emulator = start_emulator()
    try:
        results = login_stalls(emulator)
        if not args.stalls_only:
            results["import_andersen_ev_us"] = import_time()
            results |= stored_tokens(emulator, args.seed_python)
    finally:
        emulator.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
