"""Importing the library builds no validator (issue 16): models and adapters build on first use.

Building pydantic validators was most of ``import andersen_ev``'s own cost, and building the
first one loads pydantic's plugins (``importlib.metadata`` scanning every installed
distribution). The check runs in a fresh interpreter, where nothing has been built yet.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap

from tests.processes import Children

PROBE = textwrap.dedent(
    """
    import gc, json, sys
    import andersen_ev
    import pydantic

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    built = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in subclasses(pydantic.BaseModel)
        if cls.__module__.startswith("andersen_ev") and cls.__pydantic_complete__
    )
    adapters = sum(isinstance(o, pydantic.TypeAdapter) for o in gc.get_objects())
    models = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in subclasses(pydantic.BaseModel)
        if cls.__module__.startswith("andersen_ev")
    )
    print(json.dumps({
        "built": built,
        "adapters": adapters,
        "models": models,
        "metadata": "importlib.metadata" in sys.modules,
    }))
    """
)


async def test_nothing_is_built_at_import(children: Children) -> None:
    done = await asyncio.to_thread(children.run, [sys.executable, "-c", PROBE])
    assert done.returncode == 0, done.stderr
    after_import = json.loads(done.stdout)
    assert after_import["built"] == []  # no model's validator
    assert after_import["adapters"] == 0  # no TypeAdapter
    assert after_import["metadata"] is False  # so pydantic's plugins were not looked for
    assert "andersen_ev.models.status.DeviceStatus" in after_import["models"]
    assert "andersen_ev.auth.tokens.Tokens" in after_import["models"]


def test_models_built_on_first_use_still_work() -> None:
    from andersen_ev.commands import DEFAULT_SCHEDULE
    from andersen_ev.models import DayMap, Schedule
    from andersen_ev.stream.protocol import FRAME, DataFrame

    assert Schedule(start_hour=0, start_minute=30, end_hour=4, end_minute=30) == DEFAULT_SCHEDULE
    assert (
        DEFAULT_SCHEDULE.day_map
        == DayMap.every_day()
        == DayMap.model_validate(dict.fromkeys(DayMap.model_fields, True))
    )
    frame = FRAME.validate_json('{"type": "next", "id": "1", "payload": {"data": null}}')
    assert isinstance(frame, DataFrame)
    assert FRAME.validate_python({"type": "ka"}).type == "ka"
    assert FRAME.adapter is FRAME.adapter  # built once
