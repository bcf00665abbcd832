"""A SHA-256 chain over the log, one link per snapshot: what lets `replay --check` trust
what an earlier check proved instead of folding it again (store/check.py).

Link k covers the events with s(k-1) < seq <= s(k) and the snapshot at s(k) (its seq,
time and stored bytes), chained to link k-1; link 0 is a digest of the fold's own source
files, so a new version of the fold trusts nothing an older one proved.

An event is hashed column by column (one group_concat per text column and block, in
seq order, byte for byte; seq and version through sums, see _BLOCK): SQLite does the reading and joining in
C, which is what makes hashing a million events cost less than folding a third of them.
Within a column the rows are joined by commas; a payload or an actor is a JSON object,
whose own commas sit inside its braces, so the joined text still splits one way only.
The chain catches accidental and hand edits; whoever can rewrite the database can
rewrite the chain too, as they could the projections.
"""

from __future__ import annotations

import hashlib
import queue
import sqlite3
import sys
import threading
from pathlib import Path

_TEXT = ("stream_id", "stream_type", "type", "time", "actor", "payload")
# the numbers by sums, which SQLite adds without turning each into text (a quarter of the
# cost): a row's seq or version changed, or a row gone or added, changes one of them
_BLOCK = ("SELECT " + ", ".join(f"CAST(group_concat({c}) AS BLOB)" for c in _TEXT)
          + ", CAST(count(*) || ' ' || total(seq) || ' ' || total(version * seq) AS BLOB)"
          " FROM main.events WHERE seq > ? AND seq <= ?")
# the modules whose code decides what a fold says (their source, not their behaviour, is hashed)
_FOLD_MODULES = ("projections", "replay", "check", "snapshots", "chain")


def seed() -> bytes:
    """Link 0: changes whenever the code of the fold or of the check changes."""
    digest = hashlib.sha256(b"mydocker replay chain 1\0")
    package = sys.modules[__name__.rsplit(".", 1)[0]]
    for name in _FOLD_MODULES:
        path = Path(package.__path__[0]) / f"{name}.py"
        digest.update(path.read_bytes())
    return digest.digest()


def stale(stored: str | None, link: str) -> bool:
    """A stored link that says nothing now: none, or made by another version of the fold."""
    return stored is None or stored.partition(":")[0] != link.partition(":")[0]


def links(conn: sqlite3.Connection, snapshots: list[tuple[int, str, bytes]]) -> list[str]:
    """The chain's link at each snapshot (seq, time, state), ascending by seq, as the
    database holds them now: "SEED:LINK", SEED the start of link 0 (stale(), a link made
    by another version of the fold), LINK the link in hex. SQLite reads the next block while a thread hashes the
    last one (both release the GIL): the two together cost what the larger does."""
    blocks: queue.Queue[tuple[tuple[int, str, bytes], tuple[bytes | None, ...]] | None] = queue.Queue(8)
    out: list[str] = []

    failed: list[BaseException] = []
    first = seed()
    prefix = first.hex()[:16] + ":"

    def hash_blocks() -> None:
        previous = first
        try:
            while (item := blocks.get()) is not None:
                (seq, time, state), columns = item
                link = hashlib.sha256(previous)
                link.update(f"{seq} {time} {len(state)}\0".encode())
                link.update(state)
                for part in columns:
                    part = part or b""
                    link.update(len(part).to_bytes(8, "big"))
                    link.update(part)
                previous = link.digest()
                out.append(prefix + previous.hex())
        except BaseException as exc:  # noqa: BLE001 - raised again by the caller's thread
            failed.append(exc)
            while blocks.get() is not None:  # let the reader finish
                pass

    worker = threading.Thread(target=hash_blocks, name="chain", daemon=True)
    worker.start()
    try:
        after = 0
        for snapshot in snapshots:
            blocks.put((snapshot, tuple(conn.execute(_BLOCK, (after, snapshot[0])).fetchone())))
            after = snapshot[0]
    finally:
        blocks.put(None)
        worker.join()
    if failed:
        raise failed[0]
    return out
