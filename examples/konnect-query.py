"""Log in, take the account's first charger, run the commands of the Konnect+ app and print
what the service says about the charger.

An asyncio version of the original library's ``examples/konnect-query.py``. Run it against
the emulator (``andersen-ev emulator`` in another terminal)::

    ANDERSEN_EV_ENDPOINTS="$(head -1 emulator.json)" python examples/konnect-query.py

or against your own charger with ``ANDERSEN_EV_EMAIL`` (and the password asked for).
"""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

import settings
from andersen_ev import AndersenA2


def show(title: str, value: object) -> None:
    """Print a result: models as JSON (unset fields left out), anything else as Python."""
    text = (
        value.model_dump_json(indent=2, exclude_none=True)
        if isinstance(value, BaseModel)
        else repr(value)
    )
    print(f"--- {title}\n{text}")


async def main() -> None:
    email, password = settings.credentials()
    async with AndersenA2(endpoints=settings.endpoints()) as a2:
        await a2.authenticate(email, password)

        # the first charger registered in this account
        devices = await a2.get_current_user_devices()
        device_id = devices[0].id

        # Unlock: the userUnlock command. confirm=True waits until the status shows it
        # (the service answers the same whether a command took effect or not).
        # An enabled schedule still holds the charger (evseState 255) outside its window.
        await a2.user_unlock(device_id, confirm=True)
        show("unlocked", (await a2.get_device_status_simple(device_id)).evse_state)

        # Cancel the schedules: one mutation that also unlocks ("charge now")
        await a2.set_all_schedules_disabled(device_id, confirm=True)
        show("schedules disabled", (await a2.get_device_status_simple(device_id)).sys_sch_enabled)

        # Stop charging: the userLock command
        await a2.user_lock(device_id, confirm=True)
        show("locked", (await a2.get_device_status_simple(device_id)).sys_user_lock)

        show("support message", await a2.get_support_message())
        show("solar override started", (await a2.get_device_solar(device_id)).solar_override_start)
        show("device", await a2.get_device(device_id))
        for rate in await a2.get_device_charge_rates(device_id):
            show("charge rate", rate)
        show("LoRa devices", await a2.get_device_lora(device_id))


if __name__ == "__main__":
    asyncio.run(main())
