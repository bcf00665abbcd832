"""Reading the network aggregate: its views, and which endpoints and addresses the
log says a container holds.

Below networks (which changes them) so that name resolution, which only reads,
does not depend on the code that connects and disconnects.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from mydocker.core import iptables
from mydocker.core import network as net
from mydocker.statemachine import ipam
from mydocker.statemachine.errors import NotFound
from mydocker.statemachine.lookup import find_row, is_hex
from mydocker.statemachine.rowview import Column, RowView

DEFAULT_NETWORK = "bridge"


class NoSuchNetwork(NotFound):
    def __init__(self, ref: str) -> None:
        super().__init__(f"network {ref} not found")


class NetworkView(RowView):
    __slots__ = ()
    id = Column[str]("id")
    name = Column[str]("name")
    bridge = Column[str]("bridge")
    gateway = Column[str]("gateway")
    config = Column[dict[str, Any]]("config", decode=True)
    allocations = Column[dict[str, dict[str, Any]]]("allocations", decode=True)

    @property
    def subnet(self) -> ipam.Net:
        return ipam.parse_subnet(self.row["subnet"])

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.config.get("labels") or {})

    @property
    def rules(self) -> list[iptables.Rule]:
        return [iptables.Rule.from_list(r) for r in self.config.get("rules", [])]

    @property
    def root_tag(self) -> str:
        """The tag its host objects carry ('' for networks made before root tags)."""
        return str(self.config.get("root_tag", ""))

    def bridge_spec(self) -> net.BridgeSpec:
        return net.BridgeSpec(self.id, self.bridge, self.gateway, self.subnet.prefixlen, self.root_tag)


# --- reading ----------------------------------------------------------------------


def find(conn: sqlite3.Connection, ref: str) -> NetworkView | None:
    """By full id, then name, then unique id prefix (docker's order)."""
    row = find_row(conn, "networks", ref, name=ref, prefix=ref if is_hex(ref) else None,
                   ambiguous=lambda count: f"network {ref} is ambiguous ({count} matches found based on ID prefix)")
    return NetworkView(row) if row else None


def get(conn: sqlite3.Connection, ref: str) -> NetworkView:
    found = find(conn, ref)
    if found is None:
        raise NoSuchNetwork(ref)
    return found


def by_id(conn: sqlite3.Connection, network_id: str) -> NetworkView | None:
    row = conn.execute("SELECT * FROM networks WHERE id = ?", (network_id,)).fetchone()
    return NetworkView(dict(row)) if row else None


def list_all(conn: sqlite3.Connection) -> list[NetworkView]:
    return [NetworkView(dict(r)) for r in conn.execute("SELECT * FROM networks ORDER BY created_at, id")]


def containers_on(conn: sqlite3.Connection, network_id: str) -> list[tuple[str, str]]:
    """(id, name) of every container configured on the network, whatever its state:
    as its first network or as one it was connected to besides."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT id, name FROM containers WHERE json_extract(config, '$.network.id') = ?1"
        " OR EXISTS (SELECT 1 FROM json_each(containers.config, '$.extra_networks') AS e"
        "            WHERE json_extract(e.value, '$.id') = ?1)", (network_id,))]


def endpoints_of(conn: sqlite3.Connection, container_id: str) -> list[dict[str, Any]]:
    """Every endpoint the log says the container has, its first network's first."""
    found = [json.loads(r[0]) for r in conn.execute(
        "SELECT a.value FROM networks, json_each(networks.allocations) AS a"
        " WHERE json_extract(a.value, '$.container') = ?", (container_id,))]
    return sorted(found, key=lambda ep: _ifindex(ep.get("ifname", "eth0")))


def _ifindex(ifname: str) -> int:
    return int(ifname[3:]) if ifname[3:].isdecimal() else 0



def allocations_of(conn: sqlite3.Connection, container_id: str) -> list[tuple[str, str]]:
    """(network id, ip) of every address the log says the container holds."""
    return [(r[0], r[1]) for r in conn.execute(
        "SELECT networks.id, a.key FROM networks, json_each(networks.allocations) AS a"
        " WHERE json_extract(a.value, '$.container') = ?", (container_id,))]
