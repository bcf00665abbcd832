"""statemachine/lookup.py: one lookup by full id, name or unique id prefix for
containers, networks and images, with docker's words when a prefix is ambiguous."""

from __future__ import annotations

import sqlite3

import pytest
from mydocker.statemachine import images, networks, queries
from mydocker.statemachine.lookup import Ambiguous

C1 = "ab" + "1" * 62
C2 = "ab" + "2" * 62
C3 = "cd" + "3" * 62


@pytest.fixture
def conn() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    for table in ("containers", "networks"):
        db.execute(f"CREATE TABLE {table} (id TEXT PRIMARY KEY, name TEXT)")
        # "ab" names a third object: a name goes before an id prefix, as in docker
        db.executemany(f"INSERT INTO {table} VALUES (?, ?)", [(C1, "one"), (C2, "two"), (C3, "ab")])
    db.execute("CREATE TABLE images (id TEXT PRIMARY KEY, tags TEXT)")
    db.executemany("INSERT INTO images VALUES (?, ?)", [
        (f"sha256:{C1}", '["busybox:latest"]'), (f"sha256:{C2}", '["web:1"]'), (f"sha256:{C3}", "[]")])
    return db


def test_containers_by_id_name_and_prefix(conn: sqlite3.Connection) -> None:
    assert queries.find(conn, C1).id == C1
    assert queries.find(conn, "two").id == C2
    assert queries.find(conn, "/two").id == C2  # docker's leading slash
    assert queries.find(conn, "ab").id == C3  # the name, before the prefix of two ids
    assert queries.find(conn, "ab1").id == C1
    assert queries.find(conn, "cd3").id == C3
    assert queries.find(conn, "zz") is None and queries.find(conn, "  ") is None
    assert queries.find(conn, "ef") is None
    with pytest.raises(Ambiguous, match="^Multiple IDs found with provided prefix: a$"):
        queries.find(conn, "a")


def test_networks_say_how_many_ids_share_the_prefix(conn: sqlite3.Connection) -> None:
    assert networks.find(conn, "one").id == C1
    assert networks.find(conn, "ab2").id == C2
    conn.execute("INSERT INTO networks VALUES (?, ?)", ("ab" + "4" * 62, "four"))
    with pytest.raises(Ambiguous, match=r"^network a is ambiguous \(3 matches found based on ID prefix\)$"):
        networks.find(conn, "a")


def test_images_by_tag_id_and_prefix_ambiguous_finds_none(conn: sqlite3.Connection) -> None:
    assert images.find(conn, "busybox").id == f"sha256:{C1}"
    assert images.find(conn, "web:1").id == f"sha256:{C2}"
    assert images.find(conn, f"sha256:{C3}").id == f"sha256:{C3}"
    assert images.find(conn, "cd33").id == f"sha256:{C3}"
    assert images.find(conn, "sha256:ab22").id == f"sha256:{C2}"
    assert images.find(conn, "cd3") is None  # fewer than four digits
    conn.execute("INSERT INTO images VALUES (?, ?)", (f"sha256:ab11{'5' * 60}", "[]"))
    assert images.find(conn, "ab11") is None  # two ids: docker says No such image
