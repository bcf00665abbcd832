"""A SHA-256 chain over the log, one link per snapshot: what lets `replay --check` trust
what an earlier check, or the append that took a snapshot (snapshots.vouch), proved
instead of folding it again (store/check.py).

Link k covers the events with s(k-1) < seq <= s(k) (their block digest) and the snapshot
at s(k) (its seq, time and stored bytes), chained to link k-1; link 0 is a digest of the
fold's own source files, so a new version of the fold trusts nothing an older one proved.

A block's events are hashed column by column (one group_concat per text column, in seq
order, byte for byte; seq and version through sums, see _BLOCK): SQLite does the reading
and joining in C, which is what makes hashing a million events cost less than folding a
third of them. Within a column the rows are joined by commas; a payload or an actor is a
JSON object, whose own commas sit inside its braces, so the joined text still splits one
way only. The chain catches accidental and hand edits; whoever can rewrite the database
can rewrite the chain too, as they could the projections.

Run as a program (`python -m mydocker.store.chain DB SEQ...`) it prints the digests of
the blocks between the seqs: a long log is hashed half here, half in such a child, on
two cores (two threads of one process would wait on SQLite's allocator instead).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

_TEXT = ("stream_id", "stream_type", "type", "time", "actor", "payload")
# the numbers by sums, which SQLite adds without turning each into text (a quarter of the
# cost): a row's seq or version changed, or a row gone or added, changes one of them
_BLOCK = ("SELECT " + ", ".join(f"CAST(group_concat({c}) AS BLOB)" for c in _TEXT)
          + ", CAST(count(*) || ' ' || total(seq) || ' ' || total(version * seq) AS BLOB)"
          " FROM main.events WHERE seq > ? AND seq <= ?")
# the modules whose code decides what a fold says (their source, not their behaviour, is hashed)
_FOLD_MODULES = ("projections", "replay", "check", "snapshots", "chain")
# below this many events a child interpreter costs more than the half of the work it takes
SPLIT_FROM = 200_000


def seed() -> bytes:
    """Link 0: changes whenever the code of the fold or of the check changes."""
    digest = hashlib.sha256(b"mydocker replay chain 2\0")
    here = os.path.dirname(os.path.abspath(__file__))
    for name in _FOLD_MODULES:
        with open(os.path.join(here, f"{name}.py"), "rb") as source:
            digest.update(source.read())
    return digest.digest()


def stale(stored: str | None, link: str) -> bool:
    """A stored link that says nothing now: none, or made by another version of the fold."""
    return stored is None or stored.partition(":")[0] != link.partition(":")[0]


def block_digests(conn: sqlite3.Connection, bounds: list[int],
                  on_digest: Callable[[bytes], None] | None = None) -> list[bytes]:
    """The digest of the events of each block (bounds[i], bounds[i + 1]]. SQLite reads
    the next block while a thread hashes the last one (both let go of the GIL).
    on_digest is called with each digest as soon as it is made."""
    import queue
    import threading

    blocks: queue.Queue[tuple[bytes | None, ...] | None] = queue.Queue(8)
    out: list[bytes] = []
    failed: list[BaseException] = []

    def hash_blocks() -> None:
        try:
            while (columns := blocks.get()) is not None:
                out.append(_digest(columns))
                if on_digest is not None:
                    on_digest(out[-1])
        except BaseException as exc:  # noqa: BLE001 - raised again by the caller's thread
            failed.append(exc)
            while blocks.get() is not None:  # let the reader finish
                pass

    worker = threading.Thread(target=hash_blocks, name="chain", daemon=True)
    worker.start()
    try:
        for after, upto in zip(bounds, bounds[1:], strict=False):
            blocks.put(tuple(conn.execute(_BLOCK, (after, upto)).fetchone()))
    finally:
        blocks.put(None)
        worker.join()
    if failed:
        raise failed[0]
    return out


def _digest(columns: tuple[bytes | None, ...]) -> bytes:
    digest = hashlib.sha256()
    for part in columns:
        part = part or b""
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


def block_digest(conn: sqlite3.Connection, after: int, upto: int) -> bytes:
    """One block's digest, in this thread (a thread of its own would only wait for this one)."""
    return _digest(tuple(conn.execute(_BLOCK, (after, upto)).fetchone()))


def links(conn: sqlite3.Connection, snapshots: list[tuple[int, str, bytes]], split: int | None = None) -> list[str]:
    """The chain's link at each snapshot (seq, time, state), ascending by seq, as the
    database holds them now: "SEED:LINK", SEED the start of link 0 (stale(): a link made
    by another version of the fold), LINK the link in hex.

    From `split` events on, a child interpreter hashes the later half of the blocks,
    reading the database on its own: what it reads is the log up to a snapshot the
    caller's transaction already sees, which only a compaction or an edit changes. So a
    link that disagrees with a stored one must be confirmed in the caller's transaction
    (links(..., split=0)) before anyone is told."""
    return begin(conn, snapshots, split)()


def begin(conn: sqlite3.Connection, snapshots: list[tuple[int, str, bytes]], split: int | None = None,
          all_in_child: bool = False) -> Callable[[], list[str]]:
    """links() in two steps: the child starts now, the returned function finishes. With
    all_in_child the child hashes every block, and the caller's thread is free until it
    calls: a full check folds meanwhile."""
    split = SPLIT_FROM if split is None else split
    bounds = [0, *(seq for seq, _, _ in snapshots)]
    child = None
    half = len(bounds) - 1
    path = next((row[2] for row in conn.execute("PRAGMA database_list") if row[1] == "main"), "")
    if split and bounds[-1] >= split and path:
        import subprocess

        half = 0 if all_in_child else next(i for i, seq in enumerate(bounds) if seq >= bounds[-1] // 2)
        child = subprocess.Popen(
            [sys.executable, "-I", "-m", __name__, path, *map(str, bounds[half:])],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def finish() -> list[str]:
        if child is not None and half == 0:
            return _chained(snapshots, _meet(conn, bounds, child))
        digests = block_digests(conn, bounds[:half + 1])
        if child is not None:
            out, _ = child.communicate()
            later = [bytes.fromhex(line.decode()) for line in out.split()]
            if child.returncode != 0 or len(later) != len(bounds) - 1 - half:
                later = block_digests(conn, bounds[half:])  # whatever went wrong there, hash them here
            digests.extend(later)
        return _chained(snapshots, digests)

    return finish


def _meet(conn: sqlite3.Connection, bounds: list[int], child: subprocess.Popen[bytes]) -> list[bytes]:
    """Every block's digest, the child hashing from the first block on (one line per
    block as it goes) and this process from the last one down, until they meet: a
    first check's fold may end before the child does (a short fold, two free cores),
    and the wall time is then that of half the rest, not all of it."""
    total = len(bounds) - 1
    mine: dict[int, bytes] = {}
    theirs: list[bytes] = []
    pending, done = b"", False
    stream = child.stdout
    assert stream is not None
    os.set_blocking(stream.fileno(), False)
    while len(theirs) + len(mine) < total:
        if not done:
            try:
                data = stream.read()
            except BlockingIOError:
                data = None
            if data == b"":
                done = True
            elif data:
                pending += data
                *lines, pending = pending.split(b"\n")
                parsed = _parsed(lines)
                theirs.extend(parsed)
                done = len(parsed) < len(lines)  # a child gone wrong: nothing more from it
        upto = total - 1 - len(mine)
        if upto < len(theirs):
            break
        mine[upto] = block_digest(conn, bounds[upto], bounds[upto + 1])
    child.kill()  # done, or about to hash what this process already has
    stream.close()
    child.wait()
    return [*theirs[:total - len(mine)], *(mine[i] for i in sorted(mine))]


def _parsed(lines: list[bytes]) -> list[bytes]:
    """A child's digest lines; a line that is not one (a child gone wrong) ends them."""
    out: list[bytes] = []
    for line in lines:
        try:
            digest = bytes.fromhex(line.decode())
        except ValueError:
            break
        if len(digest) != 32:
            break
        out.append(digest)
    return out


def version() -> str:
    """The SEED part of every link this code makes."""
    return seed().hex()[:16]


def _chained(snapshots: list[tuple[int, str, bytes]], digests: list[bytes]) -> list[str]:
    first = seed()
    prefix, previous, out = first.hex()[:16] + ":", first, []
    for (seq, time, state), digest in zip(snapshots, digests, strict=True):
        previous = _next(previous, seq, time, state, digest)
        out.append(prefix + previous.hex())
    return out


def _next(previous: bytes, seq: int, time: str, state: bytes, digest: bytes) -> bytes:
    link = hashlib.sha256(previous)
    link.update(f"{seq} {time} {len(state)}\0".encode())
    link.update(state)
    link.update(digest)
    return link.digest()


def extend(previous: str | None, seq: int, time: str, state: bytes, digest: bytes) -> str | None:
    """The link of a snapshot (seq, time, state) whose block has `digest`, after the stored
    link `previous` of the snapshot before it (None: this is the first one, after link 0).
    None when `previous` is stale: a chain made by another version of the fold cannot be
    extended, only made again by a check."""
    first = seed()
    prefix = first.hex()[:16] + ":"
    if previous is None:
        before = first
    elif stale(previous, prefix):
        return None
    else:
        before = bytes.fromhex(previous.partition(":")[2])
    return prefix + _next(before, seq, time, state, digest).hex()


def _main(argv: list[str]) -> int:
    from urllib.parse import quote

    conn = sqlite3.connect(f"file:{quote(argv[0])}?mode=ro", uri=True, timeout=30)  # as every connection of the product
    def emit(digest: bytes) -> None:  # as it goes: the caller may need only the first ones
        sys.stdout.write(digest.hex() + "\n")
        sys.stdout.flush()

    try:
        block_digests(conn, [int(a) for a in argv[1:]], emit)
    except BrokenPipeError:  # the caller had what it needed and stopped listening
        pass
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
