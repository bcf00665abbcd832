"""The canned queries of `audit serve`, in the order its database page lists them.

The first five are the README's audit queries (the first takes the container's name
as a parameter instead of 'web'); tests/integration/test_audit_serve.py checks they
stay the README's. A `+` before a type comparison in a subquery of MIN/MAX(time) keeps
SQLite off the (type, time) index, which would walk every container's events for each
container (minutes on 20,000 containers); a stream's own events, by its index, are few."""

from __future__ import annotations

from typing import Any

from mydocker.core.security import DEFAULT_CAPABILITIES


def _quoted(names: tuple[str, ...]) -> str:
    return ", ".join(f"'{name}'" for name in names)


QUERIES: dict[str, dict[str, Any]] = {
    "container_life": {
        "title": "The whole life of one container",
        "description": "README query 1: every event of the container with that name, in order.",
        "sql": """SELECT version, event, command, exit_code, reason
  FROM container_events WHERE name = :name ORDER BY seq""",
    },
    "oom_killed": {
        "title": "Containers the OOM killer stopped",
        "description": "README query 2.",
        "sql": "SELECT name, exit_code FROM container_events WHERE event = 'die' AND oom_killed ORDER BY seq",
    },
    "how_containers_ended": {
        "title": "How each container ended and how long it ran",
        "description": "README query 3.",
        "sql": """SELECT name, starts, last_exit_code, last_die_reason, removed_at IS NOT NULL AS removed,
       seconds_running > 0 AS ran
  FROM container_lifetimes ORDER BY created_at""",
    },
    "removed_by": {
        "title": "Who removed what, with which command",
        "description": "README query 4.",
        "sql": "SELECT name, user, command FROM container_events WHERE event = 'destroy' ORDER BY seq",
    },
    "unwatched_deaths": {
        "title": "Deaths nobody watched",
        "description": "README query 5: the monitor was lost or the host rebooted.",
        "sql": """SELECT name, reason FROM container_events
 WHERE event = 'die' AND reason IN ('monitor lost', 'host reboot') ORDER BY seq""",
    },
    "privileged_or_added_capabilities": {
        "title": "Containers created privileged or with added capabilities",
        "description": "Capabilities beyond docker's default set (--cap-add), and --privileged; "
                       "starts says whether the container ever ran.",
        "sql": f"""SELECT created_at, name, image, privileged, added_capabilities, starts, removed_at
  FROM (
    SELECT c.time AS created_at,
           json_extract(c.payload, '$.name') AS name,
           json_extract(c.payload, '$.image') AS image,
           json_extract(c.payload, '$.config.spec.security.privileged') AS privileged,
           CASE WHEN json_extract(c.payload, '$.config.spec.security.privileged') THEN 'ALL'
                ELSE (SELECT group_concat(cap.value, ', ')
                        FROM json_each(c.payload, '$.config.spec.security.capabilities') AS cap
                       WHERE cap.value NOT IN ({_quoted(DEFAULT_CAPABILITIES)})) END AS added_capabilities,
           (SELECT COUNT(*) FROM events s WHERE s.stream_id = c.stream_id AND s.type = 'start') AS starts,
           (SELECT MAX(x.time) FROM events x WHERE x.stream_id = c.stream_id AND +x.type = 'destroy') AS removed_at
      FROM events c
     WHERE c.stream_type = 'container' AND c.type = 'create')
 WHERE privileged OR added_capabilities IS NOT NULL
 ORDER BY created_at""",
    },
    "published_ports": {
        "title": "Published ports over time",
        "description": "Each host port a container published: from its connect to its disconnect "
                       "(unpublished_at empty: still published).",
        "sql": """SELECT c.time AS published_at,
       (SELECT MIN(d.time) FROM events d
         WHERE d.stream_id = c.container_id AND +d.type = 'disconnect' AND d.version > c.version) AS unpublished_at,
       c.name, json_extract(p.value, '$.host_ip') AS host_ip, json_extract(p.value, '$.host_port') AS host_port,
       json_extract(p.value, '$.container_port') AS container_port, json_extract(p.value, '$.proto') AS proto
  FROM container_events c, json_each(c.payload, '$.endpoint.ports') AS p
 WHERE c.event = 'connect'
 ORDER BY c.seq, host_port""",
    },
    "oom_kills_by_image": {
        "title": "OOM kills by image",
        "description": "How often the kernel's OOM killer ended containers of each image.",
        "sql": """SELECT json_extract(c.payload, '$.image') AS image, COUNT(*) AS oom_kills,
       group_concat(DISTINCT json_extract(c.payload, '$.name')) AS containers
  FROM events d JOIN events c ON c.stream_id = d.stream_id AND c.version = 1
 WHERE d.stream_type = 'container' AND d.type = 'die'
   AND (json_extract(d.payload, '$.oom_killed') OR json_extract(d.payload, '$.reason') = 'oom')
 GROUP BY image ORDER BY oom_kills DESC, image""",
    },
    "who_removed_what": {
        "title": "Who removed what (actor)",
        "description": "Every removal with when, by which user, process and command line.",
        "sql": """SELECT time, name, container_id, user, actor_pid, command
  FROM container_events WHERE event = 'destroy' ORDER BY seq""",
    },
    "exec_sessions_per_container": {
        "title": "Exec sessions per container",
        "description": "How many exec sessions each container had, how many failed, who ran them and when.",
        "sql": """SELECT s.name, s.container_id, COUNT(*) AS sessions,
       COALESCE(SUM((SELECT json_extract(d.payload, '$.exit_code') FROM events d
                      WHERE d.stream_id = s.container_id AND d.type = 'exec_die'
                        AND json_extract(d.payload, '$.exec_id') = json_extract(s.payload, '$.exec_id')) <> 0),
                0) AS failed,
       group_concat(DISTINCT s.user) AS users, MIN(s.time) AS first_at, MAX(s.time) AS last_at
  FROM container_events s WHERE s.event = 'exec_start'
 GROUP BY s.container_id ORDER BY sessions DESC, s.name""",
    },
}
