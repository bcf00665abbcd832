-- The audit surface: stable views over the event log, for plain SQL.
-- Their columns are a promise to users (README); change them only by adding.

-- One row per container event, with the container's name and the actor spelled out.
CREATE VIEW container_events AS
SELECT
    e.seq                                        AS seq,
    e.stream_id                                  AS container_id,
    json_extract(c.payload, '$.name')            AS name,
    e.version                                    AS version,
    e.type                                       AS event,
    e.time                                       AS time,
    json_extract(e.actor, '$.command')           AS command,
    json_extract(e.actor, '$.user')              AS user,
    json_extract(e.actor, '$.pid')               AS actor_pid,
    json_extract(e.payload, '$.exit_code')       AS exit_code,
    json_extract(e.payload, '$.oom_killed')      AS oom_killed,
    json_extract(e.payload, '$.reason')          AS reason,
    json_extract(e.payload, '$.signal')          AS signal,
    e.payload                                    AS payload
FROM events e
JOIN events c ON c.stream_id = e.stream_id AND c.version = 1
WHERE e.stream_type = 'container';

-- One row per container ever created (removed ones included): when it was
-- created, first started, last died and removed, how it ended, how long it ran.
CREATE VIEW container_lifetimes AS
WITH runs AS (
    SELECT s.stream_id,
           s.time AS started,
           (SELECT MIN(d.time) FROM events d
             WHERE d.stream_id = s.stream_id AND d.type = 'die' AND d.version > s.version) AS died
    FROM events s
    WHERE s.stream_type = 'container' AND s.type = 'start'
)
SELECT
    c.stream_id                                                   AS container_id,
    json_extract(c.payload, '$.name')                             AS name,
    json_extract(c.payload, '$.image')                            AS image,
    c.time                                                        AS created_at,
    (SELECT MIN(started) FROM runs r WHERE r.stream_id = c.stream_id)    AS first_started_at,
    (SELECT MAX(d.time) FROM events d WHERE d.stream_id = c.stream_id AND d.type = 'die') AS last_died_at,
    (SELECT MAX(x.time) FROM events x WHERE x.stream_id = c.stream_id AND x.type = 'destroy') AS removed_at,
    (SELECT json_extract(d.payload, '$.exit_code') FROM events d
      WHERE d.stream_id = c.stream_id AND d.type = 'die' ORDER BY d.version DESC LIMIT 1) AS last_exit_code,
    (SELECT json_extract(d.payload, '$.reason') FROM events d
      WHERE d.stream_id = c.stream_id AND d.type = 'die' ORDER BY d.version DESC LIMIT 1) AS last_die_reason,
    (SELECT COUNT(*) FROM events d WHERE d.stream_id = c.stream_id AND d.type = 'die'
        AND json_extract(d.payload, '$.oom_killed')) > 0                 AS ever_oom_killed,
    (SELECT COUNT(*) FROM runs r WHERE r.stream_id = c.stream_id)        AS starts,
    (SELECT ROUND(SUM((julianday(COALESCE(r.died, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))
                     - julianday(r.started)) * 86400.0), 3)
       FROM runs r WHERE r.stream_id = c.stream_id)                      AS seconds_running
FROM events c
WHERE c.stream_type = 'container' AND c.type = 'create';

CREATE INDEX events_by_stream_type ON events (stream_id, type);
