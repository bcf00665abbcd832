"""Registry credentials in docker's own config.json, so `docker login` and
`mydocker login` read each other's.

The file is $DOCKER_CONFIG/config.json (default ~/.docker/config.json), mode
0600; credentials live in its `auths` map as {"auth": base64("user:password")},
keyed by registry host (Docker Hub: https://index.docker.io/v1/). Keys we do not
know (credsStore, HttpHeaders, proxies...) are kept as they are.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any


class CredentialsError(Exception):
    pass


def config_path() -> Path:
    directory = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return Path(directory) / "config.json"


def _read() -> dict[str, Any]:
    path = config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialsError(f"loading config file {path}: {exc.strerror}") from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise CredentialsError(f"loading config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"loading config file {path}: not a JSON object")
    return data


def _write(data: dict[str, Any]) -> None:
    """Atomically, 0600 from the first byte (a password never sits world-readable)."""
    import tempfile

    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config.json.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent="\t")
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _candidates(key: str) -> list[str]:
    # docker matches an auths key with or without a scheme (older clients wrote them).
    return [key, f"https://{key}", f"http://{key}"]


def get(key: str) -> tuple[str, str] | None:
    """(user, password) stored for the registry, or None (anonymous)."""
    auths = _read().get("auths") or {}
    for candidate in _candidates(key):
        entry = auths.get(candidate)
        if not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise CredentialsError(f"invalid auth configuration for {key} in {config_path()}") from None
            return user, password
        if entry.get("username"):
            return entry["username"], entry.get("password", "")
    return None


def store(key: str, user: str, password: str) -> Path:
    data = _read()
    auths = data.setdefault("auths", {})
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    auths[key] = {**(auths.get(key) or {}), "auth": token}
    _write(data)
    return config_path()


def remove(key: str) -> bool:
    """Forget the registry's credentials; False if there were none."""
    data = _read()
    auths = data.get("auths") or {}
    found = [c for c in _candidates(key) if c in auths]
    if not found:
        return False
    for candidate in found:
        del auths[candidate]
    _write(data)
    return True
