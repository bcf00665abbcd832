-- What `replay --check` proved, kept so that the next check need not prove it again
-- (store/check.py). `chain` is a SHA-256 chain over every event up to this snapshot's
-- seq and every snapshot up to this one, as they were when a check folded them and
-- found them consistent at `checked_at`; NULL until then. A replaced snapshot (backfill)
-- or a compaction (which deletes the snapshots) leaves nothing to trust.
ALTER TABLE snapshots ADD COLUMN chain TEXT;
ALTER TABLE snapshots ADD COLUMN checked_at TEXT;
