"""`ps` on the host, cut down to a set of pids (what docker top does)."""

from __future__ import annotations

import subprocess


class ProcTableError(Exception):
    pass


def ps_table(ps_args: list[str], pids: set[int]) -> tuple[list[str], list[list[str]]]:
    """(titles, rows) of `ps ps_args` for the processes in pids. The PID column
    must be in the output (docker refuses otherwise); the last column (the
    command) keeps its spaces."""
    try:
        proc = subprocess.run(["ps", *_all_processes(ps_args)], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ProcTableError(f"ps: {exc.strerror}") from None
    if proc.returncode != 0:
        raise ProcTableError(f"ps: {proc.stderr.strip() or proc.stdout.strip()}")
    lines = proc.stdout.splitlines()
    if not lines:
        raise ProcTableError("ps: no output")
    titles = lines[0].split()
    if "PID" not in titles:
        raise ProcTableError("Couldn't find PID field in ps output")
    at = titles.index("PID")
    rows = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) <= at or not fields[at].isdecimal():
            continue
        if int(fields[at]) in pids:
            rows.append(fields)
    return titles, rows


def _all_processes(ps_args: list[str]) -> list[str]:
    """ps selects only the caller's terminal by default; the daemon docker runs
    it from has none. Add -e unless the options already select processes."""
    for arg in ps_args:
        if arg in ("ax", "aux", "axu", "-A", "-e") or (arg.startswith("-") and arg[1:].isalpha()
                                                           and not arg.startswith("--") and ("e" in arg or "A" in arg)):
            return ps_args
    return ["-e", *ps_args]
