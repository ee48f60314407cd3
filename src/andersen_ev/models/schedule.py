"""The schedule you send: checked strictly before anything leaves your machine."""

from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from andersen_ev.models.status import DayMap

__all__ = ["SCHEDULE_SLOTS", "Schedule"]

#: Number of schedule slots on a charger (numbered 0-4, as in the Konnect+ app).
SCHEDULE_SLOTS: Final = 5


class Schedule(BaseModel):
    """A complete schedule to send: start and end time, enabled flag and days.

    Validated on construction: hours 0-23, minutes 0-59; all fields are required except
    ``enabled`` (default True) and ``day_map`` (default every day). Accepts the seed
    library's camelCase dict (``{"startHour": 0, ...}``) as well as snake_case.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,  # not validate_by_name: that needs pydantic 2.11
        extra="forbid",
        frozen=True,
        defer_build=True,
    )

    start_hour: int = Field(ge=0, le=23)
    start_minute: int = Field(ge=0, le=59)
    end_hour: int = Field(ge=0, le=23)
    end_minute: int = Field(ge=0, le=59)
    enabled: bool = True
    day_map: DayMap = Field(default_factory=DayMap.every_day)

    def to_wire(self) -> dict[str, Any]:
        """The ``ScheduleSlotInput`` the API takes (camelCase, every field present)."""
        return self.model_dump(by_alias=True)
