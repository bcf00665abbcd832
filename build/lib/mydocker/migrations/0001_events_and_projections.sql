-- The event log: the one source of truth. Rows are only ever inserted.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id   TEXT    NOT NULL,
    stream_type TEXT    NOT NULL,            -- container | image | network
    version     INTEGER NOT NULL,            -- 1, 2, 3... per stream
    type        TEXT    NOT NULL,            -- docker's event action: create, start, die...
    time        TEXT    NOT NULL,            -- ISO 8601 UTC, microseconds
    actor       TEXT    NOT NULL DEFAULT '{}',  -- JSON: command, pid, user
    payload     TEXT    NOT NULL DEFAULT '{}',  -- JSON: everything needed to undo the side effect
    UNIQUE (stream_id, version)
);
CREATE INDEX events_by_time ON events (time);
CREATE INDEX events_by_type ON events (type, time);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

-- Projection: one row per container that is not removed, folded from its events.
CREATE TABLE containers (
    id            TEXT    PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    version       INTEGER NOT NULL,
    state         TEXT    NOT NULL,          -- created | running | stopped
    image         TEXT    NOT NULL,
    image_id      TEXT    NOT NULL,
    command       TEXT    NOT NULL,          -- JSON list: entrypoint + cmd as run
    config        TEXT    NOT NULL,          -- JSON: the create payload
    created_at    TEXT    NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    pid           INTEGER,
    pid_start     INTEGER,
    boot_id       TEXT,
    monitor_pid   INTEGER,
    monitor_start INTEGER,
    exit_code     INTEGER,
    oom_killed    INTEGER NOT NULL DEFAULT 0,
    die_reason    TEXT
);
CREATE INDEX containers_by_created ON containers (created_at);

-- Projection: one row per image that is not deleted.
CREATE TABLE images (
    id          TEXT    PRIMARY KEY,         -- sha256:<hex of the config JSON>
    version     INTEGER NOT NULL,
    tags        TEXT    NOT NULL,            -- JSON list of repository:tag names
    created_at  TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    config      TEXT    NOT NULL,            -- JSON image config (docker's shape)
    layers      TEXT    NOT NULL             -- JSON list of layer directory names, lowest first
);
