"""Health checks as docker 20.10 runs them (compared side by side): probes every
interval from the waiter, State.Health, `(healthy)` in ps, ps --filter health=,
health_status events, the image's HEALTHCHECK and --no-healthcheck, docker's
refusals. Short intervals; one state root for the module."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.conftest import Runtime, _checked_runtime

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def md(tmp_path_factory: pytest.TempPathFactory):
    yield from _checked_runtime(tmp_path_factory.mktemp("health"))


def health_of(md: Runtime, name: str) -> str | None:
    """The status the log's projection holds (no command runs, nothing changes)."""
    with md.db() as conn:
        row = conn.execute("SELECT health FROM containers WHERE name = ?", (name,)).fetchone()
    return json.loads(row[0])["Status"] if row and row[0] else None


def wait_health(md: Runtime, name: str, want: str, limit: float = 30) -> str | None:
    deadline = time.monotonic() + limit
    while health_of(md, name) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return health_of(md, name)


def test_probes_make_it_unhealthy_then_healthy_as_docker(md):
    cid = md.ok("run", "-d", "--name", "probed", "--network", "none", "--health-cmd", "test -e /tmp/ok && echo fine",
                "--health-interval", "200ms", "--health-retries", "2", "busybox", "top").strip()
    assert md.ok("ps", "--format", "{{.Status}}").strip().endswith("(health: starting)")
    assert wait_health(md, "probed", "unhealthy") == "unhealthy"
    assert md.ok("ps", "--format", "{{.Status}}").strip().endswith(" (unhealthy)")
    assert md.ok("ps", "-q", "--filter", "health=unhealthy").split() == [cid[:12]]
    assert md.ok("ps", "-q", "--filter", "health=healthy") == ""
    md.ok("exec", "probed", "touch", "/tmp/ok")
    assert wait_health(md, "probed", "healthy") == "healthy"
    assert md.ok("ps", "--format", "{{.Status}}").strip().endswith(" (healthy)")
    state = md.inspect("probed")["State"]["Health"]
    assert (state["Status"], state["FailingStreak"]) == ("healthy", 0)
    assert 1 <= len(state["Log"]) <= 5
    assert (state["Log"][-1]["ExitCode"], state["Log"][-1]["Output"]) == (0, "fine\n")
    assert md.inspect("probed")["Config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "test -e /tmp/ok && echo fine"], "Interval": 200_000_000, "Retries": 2}
    actions = md.ok("events", "--until", "0s", "--filter", f"container={cid}", "--format", "{{.Action}}").split("\n")
    assert [a for a in actions if a.startswith("health_status")] == ["health_status: unhealthy",
                                                                      "health_status: healthy"]
    # each probe an exec, as docker's events show: exec_start ... exec_die, then the status it changed
    assert actions.count("exec_start") >= 3 and actions.count("exec_die") >= 3
    assert all(actions[i - 1] == "exec_die" for i, a in enumerate(actions) if a.startswith("health_status"))
    assert md.ok("ps", "-aq", "--filter", "health=none") == ""
    md.ok("rm", "-f", "probed")


def test_a_foreground_containers_monitor_runs_the_probes_too(md):
    md.ok("run", "--name", "fg", "--network", "none", "--health-cmd", "echo hi", "--health-interval", "200ms",
          "busybox", "sleep", "1.5")
    state = md.inspect("fg")["State"]["Health"]
    assert state["Status"] == "healthy" and state["Log"][0]["Output"] == "hi\n"
    md.ok("rm", "fg")


def test_a_paused_container_is_not_probed(md):
    """docker's health monitor stops on pause: no probe, no exec events."""
    cid = md.ok("run", "-d", "--name", "frozen", "--network", "none", "--health-cmd", "true",
                "--health-interval", "200ms", "busybox", "top").strip()
    assert wait_health(md, "frozen", "healthy") == "healthy"
    md.ok("pause", "frozen")
    before = md.events(cid).count("exec_start")
    time.sleep(1)  # five intervals
    assert md.events(cid).count("exec_start") <= before + 1  # at most one probe that was under way
    md.ok("rm", "-f", "frozen")


def test_a_probe_past_its_timeout_fails_with_docker_words(md):
    md.ok("run", "-d", "--name", "slow", "--network", "none", "--health-cmd", "sleep 5", "--health-interval", "200ms",
          "--health-timeout", "300ms", "--health-retries", "1", "busybox", "top")
    assert wait_health(md, "slow", "unhealthy") == "unhealthy"
    log = md.inspect("slow")["State"]["Health"]["Log"]
    assert (log[0]["ExitCode"], log[0]["Output"]) == (-1, "Health check exceeded timeout (300ms)")
    md.ok("rm", "-f", "slow")


def test_the_images_healthcheck_applies_and_no_healthcheck_turns_it_off(md, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nHEALTHCHECK --interval=5s --retries=4 CMD true\n")
    md.ok("build", "-q", "-t", "checked", str(tmp_path))
    md.ok("create", "--name", "inherits", "--network", "none", "--health-timeout", "2s", "checked", "top")
    assert md.inspect("inherits")["Config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000, "Timeout": 2_000_000_000, "Retries": 4}
    md.ok("create", "--name", "unchecked", "--network", "none", "--no-healthcheck", "checked", "top")
    info = md.inspect("unchecked")
    # docker's merge fills the other fields from the image even then (run side by side)
    assert info["Config"]["Healthcheck"] == {"Test": ["NONE"], "Interval": 5_000_000_000, "Retries": 4}
    assert "Health" not in info["State"]
    md.ok("rm", "inherits", "unchecked")


@pytest.mark.parametrize(("flags", "message"), [  # docker 20.10's words, exit 125
    (["--no-healthcheck", "--health-cmd", "true"], "--no-healthcheck conflicts with --health-* options"),
    (["--health-interval=-1s"], "--health-interval cannot be negative"),
    (["--health-retries", "-1"], "--health-retries cannot be negative"),
    (["--health-interval", "500us"], "Interval in Healthcheck cannot be less than 1ms"),
    (["--health-interval", "abc"], 'invalid argument "abc" for "--health-interval" flag: '
                                   'time: invalid duration "abc"'),
])
def test_bad_health_flags_are_refused_and_nothing_is_made(md, flags, message):
    result = md("run", *flags, "busybox", "true")
    assert result.code == 125
    assert result.err.splitlines()[0] == f"Error: {message}"
    assert md.ok("ps", "-aq") == ""
