"""Importing the library builds no validator (issue 16): models and adapters build on first use.

Building pydantic validators was most of ``import andersen_ev``'s own cost. pydantic's
plugins (``importlib.metadata`` scanning every installed distribution) are still looked for
at import, off the event loop. The check runs in a fresh interpreter.
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
    assert after_import["adapters"] <= 1  # at most the one that loads pydantic's plugins
    # pydantic looks for its plugins (file system calls) when it builds its first
    # validator: done at import, so that a model first used in a coroutine does not block
    assert after_import["metadata"] is True
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
