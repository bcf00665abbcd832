-- Projection: one row per network that is not removed, folded from its events.
CREATE TABLE networks (
    id          TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    version     INTEGER NOT NULL,
    driver      TEXT    NOT NULL,            -- bridge
    subnet      TEXT    NOT NULL,            -- 192.168.10.0/24
    gateway     TEXT    NOT NULL,            -- the bridge's own address
    bridge      TEXT    NOT NULL UNIQUE,     -- mdbr-<id> (mydocker0 for the default network)
    config      TEXT    NOT NULL,            -- JSON: the create payload (iptables rules included)
    allocations TEXT    NOT NULL DEFAULT '{}',  -- JSON {ip: endpoint}: the IPAM table
    created_at  TEXT    NOT NULL
);

-- The IPAM table for SQL audits: one row per address handed out.
CREATE VIEW ip_allocations AS
SELECT networks.id AS network_id, networks.name AS network, allocation.key AS address,
       json_extract(allocation.value, '$.container') AS container_id
  FROM networks, json_each(networks.allocations) AS allocation;

-- The container's live endpoint (address, veth, ports) while it is connected.
ALTER TABLE containers ADD COLUMN endpoint TEXT;
