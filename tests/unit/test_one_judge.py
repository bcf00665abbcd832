"""Issue 9's promise, checked: no module but statemachine/machine.py compares a
container's state to decide what may happen to it. Code that holds a state asks
the table (machine.may, judge, can, sources, is_alive, oci_may, oci_refusal).

The allow-list is what only presents or filters a state the log already holds;
each entry says why, and an entry that no longer matches anything fails too, so
the list cannot grow stale.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("cli", "core", "statemachine")
JUDGE = "statemachine/machine.py"
_STATE = r"(?:created|running|paused|restarting|stopped|removed)"
COMPARISONS = [
    # state == "running", view.state in ("running", "paused"), record.status(rt) != "stopped"
    re.compile(rf"""\w*(?:state|status)\w*(?:\([^)]*\))?['"\]]*\s*(?:==|!=|\bnot\s+in\b|\bin\b)\s*[(\[{{]?\s*['"]{_STATE}['"]"""),
    # "running" == state
    re.compile(rf"""['"]{_STATE}['"]\s*(?:==|!=)\s*\w*(?:state|status)"""),
    # state in ALIVE: the table's own groups, used to decide
    re.compile(r"\bin\s+(?:\w+\.)?(?:ALIVE|NOT_ALIVE|LIVE_OR_NOT)\b"),
    # SQL: WHERE state = 'stopped', state IN ('running', 'paused')
    re.compile(rf"""\bstate\s*(?:=|!=|<>|\bIN\b|\bNOT\s+IN\b)\s*\(?\s*'{_STATE}'""", re.IGNORECASE),
]
# (path, a piece of the line): presentation and filters of a state the log holds
ALLOWED = {
    ("cli/views.py", "view.state"): "ps and inspect print the state (Up/Exited/Paused, State.Running...)",
    ("cli/commands/system_df.py", "in ALIVE"): "system df counts active containers",
    ("statemachine/container_filters.py", 'v.state == "stopped"'): "ps --filter exited= matches stopped ones",
    ("statemachine/queries.py", "WHERE state IN"): "ps without -a lists the live containers",
    ("statemachine/system.py", "FROM containers WHERE state"): "system check: which host objects a live "
                                                                "container accounts for (leaks, not legality)",
}


def offences() -> list[tuple[str, int, str]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == JUDGE:
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if any(p.search(line) for p in COMPARISONS):
                    found.append((rel, number, line.strip()))
    return found


def allowed(rel: str, line: str) -> bool:
    return any(rel == path and piece in line for path, piece in ALLOWED)


def test_no_module_but_the_machine_compares_a_containers_state() -> None:
    left = [f"{rel}:{number}: {line}" for rel, number, line in offences() if not allowed(rel, line)]
    assert left == [], "ask statemachine.machine instead:\n" + "\n".join(left)


def test_every_allowance_is_still_needed() -> None:
    used = {(path, piece) for rel, _, line in offences() for path, piece in ALLOWED if rel == path and piece in line}
    assert set(ALLOWED) - used == set()


def test_the_patterns_catch_what_they_are_for() -> None:
    """The grep itself can fail: each form a judge outside the machine took before."""
    for line in ['if view is None or view.state != "running":',
                 'elif state in ("running", "paused"):',
                 'if record.status(runtime) not in ("running", "created"):',
                 'if row["state"] == "restarting":',
                 '"SELECT id FROM containers WHERE state = \'stopped\'"',
                 "active = [c for c in containers if c.state in machine.ALIVE]",
                 'if "paused" == status:']:
        assert any(p.search(line) for p in COMPARISONS), line
    for line in ['if condition == "removed":', 'elif can(state, "abort_start"):', 'Event("stop", {})']:
        assert not any(p.search(line) for p in COMPARISONS), line
