-- Snapshots of every projection, taken as the log grows (store/snapshots.py): the
-- state `--at` and `replay --check` start from instead of folding the whole log.
-- `state` is zlib-compressed JSON {table: {id: row}}: the fold of every event with
-- seq <= this row's seq. A cache the log can always rebuild, and checked against it.
CREATE TABLE snapshots (
    seq       INTEGER PRIMARY KEY,           -- the last event folded in
    time      TEXT    NOT NULL,              -- that event's time
    state     BLOB    NOT NULL
);

-- What `system compact` folded away: one row per removed container whose events
-- were replaced by this summary (the `compact` event on the `system` stream says when).
CREATE TABLE compacted_containers (
    container_id  TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL,
    image         TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    removed_at    TEXT    NOT NULL,
    first_seq     INTEGER NOT NULL,
    last_seq      INTEGER NOT NULL,
    events        INTEGER NOT NULL,          -- how many events were folded into this row
    starts        INTEGER NOT NULL,
    last_exit_code INTEGER,
    last_die_reason TEXT,
    ever_oom_killed INTEGER NOT NULL DEFAULT 0,
    summary       TEXT    NOT NULL           -- JSON: event counts by type, last name, actors
);
