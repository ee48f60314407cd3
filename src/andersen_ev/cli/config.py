"""Where ``andersen-ev`` keeps its files, and which cloud it talks to.

Files live in ``$XDG_CONFIG_HOME/andersen-ev`` (``~/.config/andersen-ev`` by default, or
``--config-dir``): ``tokens.json``, the :class:`~andersen_ev.TokenStore` written by
``login`` (mode 0600; tokens and the remembered-device secret, never the password), and
``endpoints.json`` when ``login`` was pointed at another cloud than production (an
emulator), so that later commands talk to the same one, and ``plan-<device id>.json``
while a charging plan applied by ``plan --apply`` is in force (what ``plan --restore``
puts back).

The cloud is chosen, first match wins, by ``--endpoints``, by the environment variable
``ANDERSEN_EV_ENDPOINTS``, by ``endpoints.json`` (not for ``login``), else production. The
value is the JSON line that ``andersen-ev emulator`` prints (or just its ``endpoints``
object), a file holding it, or ``production``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from andersen_ev.cli.errors import CliError, ExitCode
from andersen_ev.const import PRODUCTION, Endpoints

__all__ = [
    "ENDPOINTS_ENV",
    "Paths",
    "default_config_dir",
    "load_endpoints",
    "parse_endpoints",
    "save_endpoints",
]

#: The environment variable that points every command at another cloud (an emulator).
ENDPOINTS_ENV: Final = "ANDERSEN_EV_ENDPOINTS"
_FIELDS: Final = frozenset(field.name for field in dataclasses.fields(Endpoints))
_PRIVATE_MODE: Final = 0o600


def default_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/andersen-ev``, or ``~/.config/andersen-ev``.

    A relative ``XDG_CONFIG_HOME`` is ignored, as the XDG specification asks.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "andersen-ev"


@dataclasses.dataclass(frozen=True, slots=True)
class Paths:
    """The files of one configuration directory."""

    directory: Path

    @property
    def tokens(self) -> Path:
        """The token store written by ``login`` (mode 0600)."""
        return self.directory / "tokens.json"

    @property
    def endpoints(self) -> Path:
        """Where ``login`` records a cloud other than production."""
        return self.directory / "endpoints.json"

    def saved_plan(self, device_id: str) -> Path:
        """What ``plan --apply`` changed on ``device_id``, for ``plan --restore``."""
        safe = "".join(char if char.isalnum() or char in "-_" else "_" for char in device_id)
        return self.directory / f"plan-{safe}.json"


def parse_endpoints(value: str, source: str) -> Endpoints:
    """Endpoints from ``production``, JSON text, or the path of a file holding JSON.

    The JSON is the line the emulator prints (``{"endpoints": {...}, ...}``) or the
    ``endpoints`` object alone; only its first value is read, so a file holding the
    emulator's whole output works too.

    Args:
        value: What the user gave.
        source: Where it came from, for messages (``--endpoints`` ...).

    Raises:
        CliError: the value is neither (exit code 2).
    """
    text = value.strip()
    if text.lower() == "production":
        return PRODUCTION
    if not text.startswith(("{", "[")):
        try:
            text = Path(text).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliError(
                f"{source} is neither JSON nor a readable file ({exc.strerror}: {value})",
                hint="give the JSON line 'andersen-ev emulator' prints, or a file holding it",
                code=ExitCode.USAGE,
            ) from None
    try:
        document, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{source} is not valid JSON ({exc.msg})",
            hint="give the JSON line 'andersen-ev emulator' prints",
            code=ExitCode.USAGE,
        ) from None
    return _endpoints_from(document, source)


def _endpoints_from(document: Any, source: str) -> Endpoints:
    found = document.get("endpoints", document) if isinstance(document, dict) else None
    if not isinstance(found, dict) or not found:
        raise CliError(
            f"{source} holds no endpoints object",
            hint="give the JSON line 'andersen-ev emulator' prints",
            code=ExitCode.USAGE,
        )
    unknown = sorted(set(found) - _FIELDS)
    wrong = sorted(key for key, item in found.items() if not isinstance(item, str))
    if unknown or wrong:
        problem = f"unknown keys {unknown}" if unknown else f"non-string values for {wrong}"
        raise CliError(
            f"{source} is not an endpoints object ({problem})",
            hint=f"its keys are {', '.join(sorted(_FIELDS))}",
            code=ExitCode.USAGE,
        )
    return Endpoints(**found)


def load_endpoints(paths: Paths) -> Endpoints | None:
    """The endpoints ``login`` recorded, or None (production).

    Raises:
        CliError: the file is unreadable or broken (exit code 3: log in again).
    """
    try:
        text = paths.endpoints.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CliError(
            f"cannot read {paths.endpoints}: {exc.strerror}",
            hint="run 'andersen-ev login' again",
            code=ExitCode.AUTH,
        ) from None
    try:
        return parse_endpoints(text, str(paths.endpoints))
    except CliError as exc:
        raise CliError(
            str(exc), hint="delete it and run 'andersen-ev login' again", code=ExitCode.AUTH
        ) from None


def save_endpoints(paths: Paths, endpoints: Endpoints) -> None:
    """Record ``endpoints`` for later commands; production removes the record."""
    if endpoints == PRODUCTION:
        paths.endpoints.unlink(missing_ok=True)
        return
    paths.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = json.dumps({"endpoints": dataclasses.asdict(endpoints)}, indent=2) + "\n"
    descriptor = os.open(paths.endpoints, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(data)
