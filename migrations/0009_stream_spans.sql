-- Each stream's first and last event, kept as events are written: what `replay --check`
-- reads to choose the streams its fold must touch (store/check.py), instead of a GROUP BY
-- over the whole log on every check (a quarter to a half of a first check's second).
-- Triggers keep it in the transaction of every statement that writes events (append,
-- `system compact`'s delete, a hand edit past the append-only triggers), as SQLite keeps
-- an index; `replay --check --full` derives the spans from the log again and says where
-- this table disagrees with it.
CREATE TABLE stream_spans (
    stream_id   TEXT    PRIMARY KEY,
    stream_type TEXT    NOT NULL,            -- the last event's
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    last_type   TEXT    NOT NULL             -- the last event's type: has the stream ended?
) WITHOUT ROWID;
CREATE INDEX stream_spans_by_last ON stream_spans (last_seq);

INSERT INTO stream_spans (stream_id, stream_type, first_seq, last_seq, last_type)
SELECT s.stream_id, e.stream_type, s.first, s.last, e.type
FROM (SELECT stream_id, MIN(seq) AS first, MAX(seq) AS last FROM events GROUP BY stream_id) AS s
JOIN events AS e ON e.seq = s.last;

CREATE TRIGGER stream_spans_insert AFTER INSERT ON events
BEGIN
    INSERT INTO stream_spans (stream_id, stream_type, first_seq, last_seq, last_type)
    VALUES (new.stream_id, new.stream_type, new.seq, new.seq, new.type)
    ON CONFLICT (stream_id) DO UPDATE SET
        first_seq = min(first_seq, excluded.first_seq),
        stream_type = iif(excluded.last_seq > last_seq, excluded.stream_type, stream_type),
        last_type = iif(excluded.last_seq > last_seq, excluded.last_type, last_type),
        last_seq = max(last_seq, excluded.last_seq);
END;

-- a deleted or edited event: the span of its stream (both, if it moved) read again
CREATE TRIGGER stream_spans_delete AFTER DELETE ON events
BEGIN
    DELETE FROM stream_spans WHERE stream_id = old.stream_id;
    INSERT INTO stream_spans (stream_id, stream_type, first_seq, last_seq, last_type)
    SELECT e.stream_id, e.stream_type, (SELECT MIN(seq) FROM events WHERE stream_id = old.stream_id), e.seq, e.type
    FROM events AS e WHERE e.seq = (SELECT MAX(seq) FROM events WHERE stream_id = old.stream_id);
END;

CREATE TRIGGER stream_spans_update AFTER UPDATE OF seq, stream_id, stream_type, type ON events
BEGIN
    DELETE FROM stream_spans WHERE stream_id IN (old.stream_id, new.stream_id);
    INSERT INTO stream_spans (stream_id, stream_type, first_seq, last_seq, last_type)
    SELECT e.stream_id, e.stream_type, (SELECT MIN(seq) FROM events WHERE stream_id = e.stream_id), e.seq, e.type
    FROM events AS e WHERE e.seq IN ((SELECT MAX(seq) FROM events WHERE stream_id = old.stream_id),
                                     (SELECT MAX(seq) FROM events WHERE stream_id = new.stream_id));
END;
