"""`--at TIME`: ps, inspect, images, network ls and volume ls answer as they did at
that moment. A container's life (create, start, pause, rename, connect, die, rm), a
network's and a volume's are recorded as they happen; afterwards each moment is asked
for again with --at and must give the same answer."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import pytest

from tests.integration.conftest import _checked_runtime, free_subnet

# Durations are read against the instant asked about, and the recording ran a few ms
# after it: only the duration words may differ.
_DURATION = re.compile(r"Less than a second|About a minute|About an hour|\b\d+ (second|minute|hour)s?\b")
LISTINGS = {
    "ps": ("ps", "-a", "--no-trunc", "--format", "json"),
    "network": ("network", "ls", "--no-trunc"),
    "volume": ("volume", "ls"),
    "images": ("images", "--no-trunc"),
}


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _same(text: str) -> str:
    return _DURATION.sub("D", text)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory):
    """(runtime, [(instant, {listing or argv: output}, {container: inspect JSON})])."""
    gen = _checked_runtime(tmp_path_factory.mktemp("asof"))
    md = next(gen)
    moments: list[tuple[str, dict[str, str], dict[str, object]]] = []

    def last_seq() -> int:
        conn = md.db()
        try:
            return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        finally:
            conn.close()

    def moment(*refs: str, extra: tuple[tuple[str, ...], ...] = ()) -> None:
        # A monitor or waiter may still be writing after a command returned (an event is
        # stamped inside its transaction, before the commit): a moment counts only if no
        # event was committed while it was recorded, else it is recorded again.
        for _ in range(50):
            time.sleep(0.01)  # nothing of the next step shares its instant
            before = last_seq()
            at = _stamp()
            outputs = {key: md.ok(*argv) for key, argv in LISTINGS.items()}
            outputs.update({argv: md.ok(*argv) for argv in extra})
            inspected = {ref: json.loads(md.ok("inspect", ref))[0] for ref in refs}
            if last_seq() == before:
                moments.append((at, outputs, inspected))
                return
            time.sleep(0.2)
        raise AssertionError("the log never stood still long enough to record a moment")

    try:
        md.ok("images")  # busybox, built before the story starts
        md.ok("network", "create", "--subnet", free_subnet(), "atnet")
        md.ok("volume", "create", "atvol")
        moment()
        md.ok("create", "--name", "alpha", "-v", "atvol:/data", "busybox", "top")
        moment("alpha")
        md.ok("run", "-d", "--name", "beta", "--network", "atnet", "busybox", "top")
        md.ok("tag", "busybox", "atbox:1")
        moment("alpha", "beta", extra=(("network", "inspect", "atnet"), ("volume", "inspect", "atvol")))
        md.ok("start", "alpha")
        md.ok("pause", "beta")
        moment("alpha", "beta")
        md.ok("rename", "alpha", "alpha2")
        md.ok("unpause", "beta")
        md.ok("kill", "beta")
        md.ok("wait", "beta")
        moment("alpha2", "beta")
        md.ok("rm", "-f", "alpha2")
        md.ok("rm", "beta")
        md.ok("rmi", "atbox:1")
        md.ok("network", "rm", "atnet")
        md.ok("volume", "rm", "atvol")
        moment()
        yield md, moments
    finally:
        md("rm", "-f", "alpha", "alpha2", "beta")
        md("network", "rm", "atnet")
        md("volume", "rm", "atvol")
        next(gen, None)


def test_listings_at_each_moment_are_as_they_were(story) -> None:
    md, moments = story
    seen_states = set()
    for at, outputs, _ in moments:
        for key, argv in LISTINGS.items():
            assert _same(md.ok(*argv, "--at", at)) == _same(outputs[key]), (key, at)
        seen_states |= {json.loads(line)["State"] for line in outputs["ps"].splitlines()}
    # the story went through every state ps can show
    assert seen_states == {"created", "running", "paused", "exited"}
    assert "atnet" in moments[1][1]["network"] and "atnet" not in moments[-1][1]["network"]
    assert "atbox" in moments[2][1]["images"] and "atbox" not in moments[-1][1]["images"]


def test_inspect_at_each_moment_is_as_it_was(story) -> None:
    md, moments = story
    at, outputs, _ = moments[2]
    for argv in (("network", "inspect", "atnet"), ("volume", "inspect", "atvol")):
        assert md.ok(*argv[:2], "--at", at, *argv[2:]) == outputs[argv]
    assert "beta" in outputs[("network", "inspect", "atnet")]
    assert md("network", "inspect", "atnet").code == 1  # removed since
    for at, _, inspected in moments:
        for ref, then in inspected.items():
            now = json.loads(md.ok("inspect", "--at", at, ref))[0]
            assert now == then, (ref, at)
    paused = moments[3][2]["beta"]
    assert paused["State"]["Paused"] and paused["NetworkSettings"]["Networks"]["atnet"]["IPAddress"]
    # alpha2 is alpha's name only from the rename on; the container is gone today
    assert md("inspect", "--at", moments[3][0], "alpha2").code == 1
    assert md("inspect", "alpha2").code == 1


def test_before_the_first_event_nothing_and_in_the_future_now(story) -> None:
    md, _ = story
    assert md.ok("ps", "-a", "-q", "--at", "2000-01-01T00:00:00Z") == ""
    assert md.ok("images", "-q", "--at", "2000-01-01T00:00:00Z") == ""
    assert md.ok("volume", "ls", "-q", "--at", "2000-01-01T00:00:00Z") == ""
    argv = LISTINGS["ps"]
    assert _same(md.ok(*argv, "--at", "2999-01-01T00:00:00Z")) == _same(md.ok(*argv))
    assert md.ok("container", "ls", "-a", "-q", "--at", "1s") == md.ok("ps", "-a", "-q")


@pytest.mark.parametrize("argv", [("ps", "--at", "yesterday"), ("inspect", "--at", "2026-13-01", "x"),
                                  ("images", "--at", ""), ("network", "ls", "--at", "soon"),
                                  ("volume", "ls", "--at", "1y")])
def test_bad_at_is_one_line_and_125(story, argv) -> None:
    md, _ = story
    result = md(*argv)
    assert result.code == 125
    assert result.out == "" and len(result.err.splitlines()) == 1 and result.err.startswith("Error: ")


def test_the_log_and_its_snapshots_still_check(story) -> None:
    md, _ = story
    assert md.ok("replay", "--check") == "projections match the log\n"


def test_compact_only_when_asked_and_the_past_after_it_stays(story) -> None:
    """Last in the module: it rewrites the log the other tests read."""
    md, moments = story
    assert md("system", "compact").code == 125  # --before is required
    asked = md("system", "compact", "--before", "0s", input="n\n")
    assert asked.code == 0 and "2 container(s)" in asked.out
    with md.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM compacted_containers").fetchone()[0] == 0
        lives = conn.execute("SELECT name, starts, removed_at IS NOT NULL FROM container_lifetimes"
                             " ORDER BY created_at").fetchall()
    assert md.ok("system", "compact", "--before", "0s", "-f").startswith("Compacted 2 container(s): ")
    with md.db() as conn:
        assert conn.execute("SELECT COUNT(*) FROM compacted_containers").fetchone()[0] == 2
        assert conn.execute("SELECT name, starts, removed_at IS NOT NULL FROM container_lifetimes"
                            " ORDER BY created_at").fetchall() == lives
        assert conn.execute("SELECT COUNT(*) FROM events WHERE stream_type = 'container'").fetchone()[0] == 0
    assert "system compact system" in md.ok("events", "--since", "0", "--until", "0s")
    assert md.ok("replay", "--check") == "projections match the log\n"
    at, outputs, _ = moments[-1]
    for key, argv in LISTINGS.items():
        assert _same(md.ok(*argv, "--at", at)) == _same(outputs[key]), key
    assert md.ok("system", "compact", "--before", "0s", "-f").startswith("Nothing to compact")
