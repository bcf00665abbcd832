-- Projection: one row per named or anonymous volume that is not removed.
-- Which containers use a volume is read from containers.config (spec.mounts),
-- so there is no second copy of that fact to keep in step.
CREATE TABLE volumes (
    id          TEXT    PRIMARY KEY,         -- the volume's name (64 hex for anonymous ones)
    version     INTEGER NOT NULL,
    driver      TEXT    NOT NULL,            -- always 'local'
    mountpoint  TEXT    NOT NULL,            -- host directory: ROOT/volumes/<name>/_data
    anonymous   INTEGER NOT NULL DEFAULT 0,  -- made for a `-v /path`; `rm -v` removes it
    labels      TEXT    NOT NULL DEFAULT '{}',
    created_at  TEXT    NOT NULL
);
