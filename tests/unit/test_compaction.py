"""store/compaction.py: compacting removed containers changes no projection, keeps
them in container_lifetimes, is recorded as an event, and leaves a log (and
snapshots) that replay --check accepts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from mydocker.store import compaction, snapshots
from mydocker.store import events as store_events
from mydocker.store.check import check
from mydocker.store.replay import stored_projections

from tests.unit.test_snapshots import EVERY, Log, stamp, write_history

LIFETIME = "SELECT container_id, name, image, created_at, removed_at, starts, last_exit_code FROM container_lifetimes"


@pytest.fixture
def log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Log:
    monkeypatch.setattr(store_events, "SNAPSHOT_EVERY", EVERY)
    log = Log(tmp_path / "root")
    write_history(log, random.Random(11))
    return log


def test_compaction_folds_removed_containers_and_changes_no_projection(log: Log) -> None:
    conn = log.conn
    before = stamp(log.clock // 2)
    picked = compaction.removed_before(conn, before)
    assert len(picked) >= 3
    projections = stored_projections(conn)
    lifetimes = sorted(tuple(r) for r in conn.execute(LIFETIME))
    total = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    done = compaction.compact(conn, before, {"command": "system compact"})

    assert (done.containers, done.snapshots > 0) == (len(picked), True)
    assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == total - done.events + 1
    left = {sid for (sid,) in conn.execute("SELECT DISTINCT stream_id FROM events")}
    assert not left & set(picked)
    assert stored_projections(conn) == projections
    assert sorted(tuple(r) for r in conn.execute(LIFETIME)) == lifetimes
    summary = conn.execute("SELECT events, event_counts FROM compacted_containers WHERE container_id = ?",
                           (picked[0],)).fetchone()
    assert summary[0] == sum(json.loads(summary[1]).values()) and json.loads(summary[1])["destroy"] == 1
    (payload,) = conn.execute("SELECT payload FROM events WHERE stream_type = 'system' AND type = 'compact'").fetchone()
    assert json.loads(payload) == {"before": before, "containers": len(picked), "events": done.events}
    assert check(conn) == []
    # after the compaction point, the past is as it was
    seq, state = snapshots.state_at(conn, stamp(log.clock // 2 + 10))
    assert state == log.seen[max(s for s in log.seen if s <= seq)]
    # the log is append-only again, and there is nothing left to compact
    with pytest.raises(Exception, match="append-only"):
        conn.execute("DELETE FROM events WHERE seq = 1")
    assert compaction.compact(conn, before, {}).containers == 0
