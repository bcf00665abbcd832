"""--log-driver and --log-opt as docker 20.10's json-file driver takes them
(HostConfig.LogConfig), checked with the daemon's words, and what they mean for
core.logs.LogWriter."""

from __future__ import annotations

import re
from typing import Any

DRIVERS = ("json-file", "none")
JSON_FILE_OPTS = {"max-size", "max-file", "compress", "labels", "labels-regex", "env", "env-regex", "tag"}
_SIZE = re.compile(r"(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?")
_DECIMAL = {"": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4, "p": 1000**5}


class LogOptionError(ValueError):
    """Docker's words for a log configuration it refuses."""


def from_human_size(text: str) -> int:
    """go-units FromHumanSize: decimal units (1k = 1000), as json-file reads max-size."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise LogOptionError(f"failed to initialize logging driver: invalid size: '{text}'")
    return int(float(m.group(1)) * _DECIMAL[(m.group(2) or "").lower()])


def validate(driver: str, options: dict[str, str]) -> dict[str, Any]:
    """HostConfig.LogConfig {"Type", "Config"}, or LogOptionError."""
    if driver not in DRIVERS:
        raise LogOptionError(f'error looking up logging plugin {driver}: plugin "{driver}" not found')
    if driver == "none":
        if options:
            raise LogOptionError("invalid logging opts for driver none")
        return {"Type": "none", "Config": {}}
    for key in options:
        if key not in JSON_FILE_OPTS:
            raise LogOptionError(f"unknown log opt '{key}' for json-file log driver")
    writer_options({"Type": driver, "Config": options})
    return {"Type": driver, "Config": dict(options)}


def writer_options(log_config: dict[str, Any]) -> dict[str, Any]:
    """What LogWriter takes: driver, max_size (bytes, 0 = unlimited), max_file."""
    driver = log_config.get("Type") or "json-file"
    options = log_config.get("Config") or {}
    if driver == "none":
        return {"driver": "none"}
    max_size = from_human_size(options["max-size"]) if "max-size" in options else 0
    if "max-size" in options and max_size <= 0:
        raise LogOptionError("failed to initialize logging driver: max-size must be a positive number")
    max_file = 1
    if "max-file" in options:
        try:
            max_file = int(options["max-file"])
        except ValueError:
            raise LogOptionError(f'failed to initialize logging driver: strconv.Atoi: parsing '
                                 f'"{options["max-file"]}": invalid syntax') from None
        if max_file < 1:
            raise LogOptionError("failed to initialize logging driver: max-file cannot be less than 1")
    return {"driver": driver, "max_size": max_size, "max_file": max_file}


def keeps_logs(config: dict[str, Any]) -> bool:
    """Can `logs` read this container's output? Not with the none driver."""
    return ((config.get("log_config") or {}).get("Type") or "json-file") != "none"
