"""login / logout: credentials checked against the registry, kept in docker's
config.json (core/registry_creds.py), so docker and mydocker share them."""

from __future__ import annotations

from pathlib import Path

from mydocker.core import registry_client as rc
from mydocker.core import registry_creds, registry_names
from mydocker.statemachine.errors import UserError


def server_key(server: str | None) -> str:
    return registry_names.registry_key(server) if server else registry_names.DOCKER_HUB_AUTH_KEY


def login(server: str | None, user: str, password: str) -> Path:
    key = server_key(server)
    client = rc.Client(registry_names.api_host_of(key), "", (user, password))
    try:
        client.check_login()
    except rc.RegistryError as exc:
        raise UserError(str(exc)) from None
    finally:
        client.close()
    try:
        return registry_creds.store(key, user, password)
    except (OSError, registry_creds.CredentialsError) as exc:
        raise UserError(f"saving credentials: {exc}") from None


def logout(server: str | None) -> tuple[str, bool]:
    """(the registry key, whether credentials were removed)."""
    key = server_key(server)
    try:
        return key, registry_creds.remove(key)
    except (OSError, registry_creds.CredentialsError) as exc:
        raise UserError(str(exc)) from None
