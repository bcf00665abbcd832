"""-v parsing, exec's user lookup, and the volume projection fold."""

from __future__ import annotations

import pytest
from mydocker.core.nsenter import ExecError, lookup_user
from mydocker.statemachine.volumes import parse
from mydocker.store.events import Event
from mydocker.store.projections import apply_container, apply_volume


def test_volume_specs():
    bind = parse("/srv/data:/data")
    assert (bind.kind, bind.source, bind.destination, bind.readonly) == ("bind", "/srv/data", "/data", False)
    assert parse("/srv/conf:/conf:ro").readonly is True
    named = parse("cache:/var/cache:rw")
    assert (named.kind, named.source, named.readonly) == ("volume", "cache", False)
    anon = parse("/scratch")
    assert (anon.kind, anon.source, anon.destination) == ("volume", "", "/scratch")
    assert parse("/a:/b/../c").destination == "/c"


@pytest.mark.parametrize("bad", ["/a:relative", "/a:/", "/a:/b:bogus", "/a:/b:ro,rw", "a:b:c:d", "bad name:/x"])
def test_bad_volume_specs(bad):
    with pytest.raises(ValueError):
        parse(bad)


def test_lookup_user(tmp_path):
    (tmp_path / "passwd").write_text("root:x:0:0::/root:/bin/sh\nweb:x:33:44::/var/www:/bin/false\n")
    (tmp_path / "group").write_text("root:x:0:\nwww:x:44:\nextra:x:50:web\n")
    assert lookup_user("", str(tmp_path)) == (0, 0, [])
    assert lookup_user("web", str(tmp_path)) == (33, 44, [44, 50])
    assert lookup_user("33", str(tmp_path)) == (33, 44, [44, 50])
    assert lookup_user("1000:1000", str(tmp_path)) == (1000, 1000, [1000])
    assert lookup_user("web:root", str(tmp_path))[1] == 0
    with pytest.raises(ExecError):
        lookup_user("nobody-here", str(tmp_path))
    with pytest.raises(ExecError):
        lookup_user("web:nogroup", str(tmp_path))


def test_volume_fold():
    created = Event("create", {"mountpoint": "/r/volumes/v/_data", "anonymous": True}, stream_id="v", version=1,
                    time="t")
    row = apply_volume(None, created)
    assert row is not None and row["anonymous"] == 1 and row["mountpoint"] == "/r/volumes/v/_data"
    assert apply_volume(row, Event("destroy", {}, stream_id="v", version=2)) is None


def test_exec_events_do_not_change_container_state():
    row = {"id": "c", "state": "running", "version": 3, "pid": 5}
    for etype in ("exec_start", "exec_die", "commit"):
        new = apply_container(row, Event(etype, {"exit_code": 1}, stream_id="c", version=4))
        assert new == {**row, "version": 4}
