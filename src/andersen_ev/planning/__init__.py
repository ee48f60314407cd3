"""Price-aware charging plans: charge when electricity is cheapest (pure: no I/O).

Read prices (:func:`prices_from_octopus`, :func:`prices_from_csv`,
:func:`prices_from_rows`), find the cheapest windows before a deadline that fit the
charger's five schedule slots (:func:`plan_charging`), and turn them into schedules
(:func:`plan_schedules`). See ``docs/planning.md``.
"""

from andersen_ev.planning.models import (
    ChargePlan,
    ChargeWindow,
    PlanNotFeasibleError,
    PriceDataError,
    PricePeriod,
)
from andersen_ev.planning.optimizer import DEFAULT_POWER_KW, plan_charging
from andersen_ev.planning.prices import prices_from_csv, prices_from_octopus, prices_from_rows
from andersen_ev.planning.schedules import plan_schedules, window_schedule

__all__ = [
    "DEFAULT_POWER_KW",
    "ChargePlan",
    "ChargeWindow",
    "PlanNotFeasibleError",
    "PriceDataError",
    "PricePeriod",
    "plan_charging",
    "plan_schedules",
    "prices_from_csv",
    "prices_from_octopus",
    "prices_from_rows",
    "window_schedule",
]
