"""Is a car plugged into the charger? Unlock for a moment to find out, then put things back.

An asyncio version of the original library's ``examples/is-connected.py``. The charger has
no "car connected" field: ``evseState`` tells (2 connected, 3 charging, 1 ready), except
when the charger is locked or held by a schedule (255), which hides the car. Then this
script unlocks and disables the schedules, waits until the state shows, and restores the
lock and the schedules exactly as they were. See ``settings.py`` for where it connects.
"""

from __future__ import annotations

import asyncio

import settings
from andersen_ev import AndersenA2, DeviceStatus, EvseState, Schedule

#: How long to wait for the charger to leave the disabled state (seconds).
WAIT = 60.0


async def enabled_status(a2: AndersenA2, device_id: str) -> DeviceStatus:
    """The status, once the charger has left the disabled state (at most WAIT seconds)."""
    async with asyncio.timeout(WAIT):
        while True:
            status = await a2.get_device_status(device_id)
            if status.evse_state is not EvseState.DISABLED:
                return status
            await asyncio.sleep(a2.confirm_interval)


async def is_car_connected(a2: AndersenA2, device_id: str) -> bool:
    status = await a2.get_device_status(device_id)
    if status.evse_state is EvseState.DISABLED:
        print(f"{status.evse_state!r} (locked or held by a schedule): unlocking for a moment")
        # what to put back afterwards: the lock and each complete schedule slot
        locked = bool(status.sys_user_lock)
        schedules: dict[int | str, Schedule] = {
            number: Schedule.model_validate(slot.model_dump())
            for number, slot in enumerate(status.schedules)
            if slot is not None and slot.enabled
        }
        if schedules:
            await a2.set_all_schedules_disabled(device_id, confirm=True)  # unlocks too
        elif locked:
            await a2.user_unlock(device_id, confirm=True)
        status = await enabled_status(a2, device_id)
        if schedules:
            print("restoring the schedules")
            await a2.set_schedules(device_id, schedules)
        if locked:
            print("restoring the lock")
            await a2.user_lock(device_id, confirm=True)
    print(f"evseState: {status.evse_state!r}")
    return bool(status.is_car_connected)


async def main() -> None:
    email, password = settings.credentials()
    async with AndersenA2(endpoints=settings.endpoints()) as a2:
        await a2.authenticate(email, password)
        devices = await a2.get_current_user_devices()
        device_id = devices[0].id
        print(device_id)
        print(f"Connected: {await is_car_connected(a2, device_id)}")


if __name__ == "__main__":
    asyncio.run(main())
