"""Where the examples connect, and as whom: production by default, an emulator on request.

* ``ANDERSEN_EV_ENDPOINTS``: the JSON line ``andersen-ev emulator`` prints (or its
  ``endpoints`` object). Unset: the real Andersen cloud.
* ``ANDERSEN_EV_EMAIL`` and ``ANDERSEN_EV_PASSWORD``: the Konnect+ account. Unset: taken
  from the emulator's line when there is one, else asked for (the password without echo).
"""

from __future__ import annotations

import getpass
import json
import os
from typing import Any

from andersen_ev import PRODUCTION, Endpoints


def _emulator_line() -> dict[str, Any]:
    text = os.environ.get("ANDERSEN_EV_ENDPOINTS", "").strip()
    line: dict[str, Any] = json.loads(text) if text else {}
    return line


def endpoints() -> Endpoints:
    """Production, or the cloud ``ANDERSEN_EV_ENDPOINTS`` describes."""
    line = _emulator_line()
    if not line:
        return PRODUCTION
    return Endpoints(**line.get("endpoints", line))


def credentials() -> tuple[str, str]:
    """The account's email and password."""
    line = _emulator_line()
    email = os.environ.get("ANDERSEN_EV_EMAIL") or line.get("email") or input("Email: ")
    password = (
        os.environ.get("ANDERSEN_EV_PASSWORD")
        or line.get("password")
        or getpass.getpass("Konnect+ password: ")
    )
    return email, password
