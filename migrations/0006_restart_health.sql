-- Restart policies and health checks (docker's RestartCount, State.Health).
-- restart_count: starts made by the policy since the user last started it;
-- restart_delay: the backoff last waited (seconds), doubled by the next one;
-- stopped_by_user: a stop or kill came from a user in this run (no restart then);
-- health: JSON {"Status", "FailingStreak", "Log"} while a check is configured.
ALTER TABLE containers ADD COLUMN restart_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE containers ADD COLUMN restart_delay REAL NOT NULL DEFAULT 0;
ALTER TABLE containers ADD COLUMN stopped_by_user INTEGER NOT NULL DEFAULT 0;
ALTER TABLE containers ADD COLUMN health TEXT;

-- The snapshots (0005) hold container rows without these columns: a cache the log
-- rebuilds on the first `--at` (store/snapshots.py backfill), so drop it rather than
-- have `replay --check` compare rows of two shapes.
DELETE FROM snapshots;
