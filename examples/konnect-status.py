"""Follow a charger's live status: the events the Konnect+ app shows, as they arrive.

An asyncio version of the original library's ``examples/konnect-status.py``: one websocket,
typed statuses, and a connection that reconnects by itself. The first status is a snapshot
(read by a query); the following ones are live events. Ctrl-C stops it; ``--count N`` stops
after N statuses. See ``settings.py`` for where it connects and as whom.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

import settings
from andersen_ev import AndersenA2


async def main(count: int | None) -> None:
    email, password = settings.credentials()
    async with AndersenA2(endpoints=settings.endpoints()) as a2:
        await a2.authenticate(email, password)
        devices = await a2.get_current_user_devices()
        device_id = devices[0].id

        seen = 0
        async with a2.subscribe_device_updates(device_id) as updates:
            async for status in updates:
                session = status.charge_status
                print(f"Charge power:     {status.charge_power} kW")
                print(f"Session energy:   {session.charge_energy_total if session else None} kWh")
                print(f"User locked:      {status.sys_user_lock}")
                print(f"Schedule enabled: {status.sys_sch_enabled}")
                print(f"Schedule locked:  {status.sys_schedule_lock}")
                print(f"EVSE state:       {status.evse_state!r}", flush=True)
                seen += 1
                if count is not None and seen >= count:
                    break


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, help="stop after COUNT statuses")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(parser.parse_args().count))
