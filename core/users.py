"""Users and groups as the container's /etc names them (for -u/--user).

Imported by the container's init before pivot_root: after it, the host's
filesystem (and so this module's source) is gone from the init's view.
"""

from __future__ import annotations

import os


class SetupError(Exception):
    """A process could not be set up to run; carries docker's exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def lookup_user(user: str, etc: str = "/etc") -> tuple[int, int, list[int]]:
    """uid[:gid], name[:group] (from the container's /etc) -> (uid, gid, supplementary)."""
    if not user:
        return 0, 0, []
    name, _, group = user.partition(":")
    passwd = _table(os.path.join(etc, "passwd"))
    groups_file = _table(os.path.join(etc, "group"))
    uid: int | None = None
    gid: int | None = None
    if name.isdigit():
        uid = int(name)
        entry = next((e for e in passwd if e[2:3] == [name]), None)
    else:
        entry = next((e for e in passwd if e[0] == name), None)
        if entry is None:
            raise SetupError(126, f"unable to find user {name}: no matching entries in passwd file")
        uid = int(entry[2])
    if entry is not None and len(entry) > 3 and entry[3].isdigit():
        gid = int(entry[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            found = next((e for e in groups_file if e[0] == group), None)
            if found is None:
                raise SetupError(126, f"unable to find group {group}: no matching entries in group file")
            gid = int(found[2])
    gid = 0 if gid is None else gid
    supplementary = []
    if entry is not None:
        supplementary = [int(e[2]) for e in groups_file
                         if len(e) > 3 and entry[0] in e[3].split(",") and e[2].isdigit()]
    return uid, gid, sorted({gid, *supplementary})


def lookup_groups(names: list[str], etc: str = "/etc") -> list[int]:
    """--group-add: gids as given, names from the container's /etc/group."""
    table = _table(os.path.join(etc, "group"))
    out = []
    for name in names:
        if name.isdigit():
            out.append(int(name))
            continue
        found = next((e for e in table if e[0] == name and len(e) > 2 and e[2].isdigit()), None)
        if found is None:
            raise SetupError(125, f"Unable to find group {name}: no matching entries in group file")
        out.append(int(found[2]))
    return out


def with_home(env: dict[str, str], uid: int, etc: str = "/etc") -> dict[str, str]:
    """docker (runc) sets HOME, unless the user set it, to the home directory of the
    uid in the container's passwd file, and to / when the uid has no entry."""
    if "HOME" in env:
        return env
    entry = next((e for e in _table(os.path.join(etc, "passwd")) if e[2:3] == [str(uid)]), None)
    home = entry[5] if entry is not None and len(entry) > 5 and entry[5] else "/"
    return {**env, "HOME": home}


def _table(path: str) -> list[list[str]]:
    try:
        with open(path) as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip() and not line.startswith("#")]
    except OSError:
        return []
