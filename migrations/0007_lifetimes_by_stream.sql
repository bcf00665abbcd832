-- container_lifetimes, the same columns and rows as 0005's, with index hints: the
-- subqueries' `type = '...'` terms made SQLite pick the (type, time) index and walk
-- every container's events of that type for each container (80 s for 5,000
-- containers); `+type` leaves it the (stream_id, ...) indexes (0.08 s).
DROP VIEW container_lifetimes;
CREATE VIEW container_lifetimes AS
WITH runs AS (
    SELECT s.stream_id,
           s.time AS started,
           (SELECT MIN(d.time) FROM events d
             WHERE d.stream_id = s.stream_id AND +d.type = 'die' AND d.version > s.version) AS died
    FROM events s
    WHERE s.stream_type = 'container' AND +s.type = 'start'
)
SELECT
    c.stream_id                                                   AS container_id,
    json_extract(c.payload, '$.name')                             AS name,
    json_extract(c.payload, '$.image')                            AS image,
    c.time                                                        AS created_at,
    (SELECT MIN(started) FROM runs r WHERE r.stream_id = c.stream_id)    AS first_started_at,
    (SELECT MAX(d.time) FROM events d WHERE d.stream_id = c.stream_id AND +d.type = 'die') AS last_died_at,
    (SELECT MAX(x.time) FROM events x WHERE x.stream_id = c.stream_id AND +x.type = 'destroy') AS removed_at,
    (SELECT json_extract(d.payload, '$.exit_code') FROM events d
      WHERE d.stream_id = c.stream_id AND +d.type = 'die' ORDER BY d.version DESC LIMIT 1) AS last_exit_code,
    (SELECT json_extract(d.payload, '$.reason') FROM events d
      WHERE d.stream_id = c.stream_id AND +d.type = 'die' ORDER BY d.version DESC LIMIT 1) AS last_die_reason,
    (SELECT COUNT(*) FROM events d WHERE d.stream_id = c.stream_id AND +d.type = 'die'
        AND json_extract(d.payload, '$.oom_killed')) > 0                 AS ever_oom_killed,
    (SELECT COUNT(*) FROM runs r WHERE r.stream_id = c.stream_id)        AS starts,
    (SELECT ROUND(SUM((julianday(COALESCE(r.died, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))
                     - julianday(r.started)) * 86400.0), 3)
       FROM runs r WHERE r.stream_id = c.stream_id)                      AS seconds_running
FROM events c
WHERE c.stream_type = 'container' AND c.type = 'create'
UNION ALL
SELECT container_id, name, image, created_at, first_started_at, last_died_at, removed_at, last_exit_code,
       last_die_reason, ever_oom_killed, starts, seconds_running
FROM compacted_containers;
