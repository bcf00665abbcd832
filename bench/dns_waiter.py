#!/usr/bin/env python3
"""Memory of a container's waiter with and without the embedded DNS server
(core.dnsserver), against the monitor budget (<= 12 MB RSS, <= 5 MB Pss_Anon).

A fresh temporary --root, a user network on a free test subnet (10.213-219.x.0/24)
and N `sleep` containers on it (each waiter serves DNS), N on the default bridge
(none does); each container is asked one name through its server, so the numbers
are those of a server that has answered. --dns is the network's gateway, which
nothing answers: no query leaves the host. Everything is removed at the end.
Run as root:  .venv/bin/python bench/dns_waiter.py [N]
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from restart_sleeper import BUDGET, MYDOCKER, rollup  # noqa: E402  (one reader of smaps_rollup)


def waiter_of(md: list[str], name: str) -> int:
    pid = int(subprocess.run([*md, "inspect", "--format", "{{.State.Pid}}", name], check=True,
                             capture_output=True, text=True).stdout)
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def main() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.integration.conftest import free_subnet

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    root = tempfile.mkdtemp(prefix="md-bench-dns-")
    md = [MYDOCKER, "--root", root]
    subnet = ipaddress.ip_network(free_subnet())
    env_subnet = free_subnet()
    names: dict[str, list[str]] = {"user network (DNS)": [], "default bridge (no DNS)": []}


    os.environ["MYDOCKER_BRIDGE_SUBNET"] = env_subnet
    try:
        subprocess.run([*md, "network", "create", "--subnet", str(subnet), "benchdns"], check=True,
                       capture_output=True)
        for i in range(count):
            for label, net in (("user network (DNS)", "benchdns"), ("default bridge (no DNS)", "bridge")):
                name = f"bdns-{net}-{i}"
                subprocess.run([*md, "run", "-d", "--name", name, "--network", net, "--dns", str(subnet[1]),
                                "busybox", "sleep", "600"], check=True, capture_output=True)
                names[label].append(name)
        for name in names["user network (DNS)"]:
            subprocess.run([*md, "exec", name, "nslookup", names["user network (DNS)"][0], "127.0.0.11"],
                           check=True, capture_output=True)
        result = {}
        print(f"| waiter of a `sleep` container | RSS MB | Pss_Anon MB (median of {count}) |")
        print("|---|---|---|")
        for label, group in names.items():
            rolls = [rollup(waiter_of(md, name)) for name in group]
            rss = statistics.median(r["Rss"] for r in rolls)
            anon = statistics.median(r["Pss_Anon"] for r in rolls)
            result[label] = {"Rss": rss, "Pss_Anon": anon}
            print(f"| {label} | {rss:.2f} | {anon:.2f} |")
        ok = all(v[k] <= BUDGET[k] for v in result.values() for k in BUDGET)
        print(json.dumps({"within_budget": ok}))
        return 0 if ok else 1
    finally:
        every = [n for group in names.values() for n in group]
        if every:
            subprocess.run([*md, "rm", "-f", *every], capture_output=True)
        subprocess.run([*md, "network", "rm", "benchdns"], capture_output=True)
        _remove_default_network(root)
        shutil.rmtree(root, ignore_errors=True)


def _remove_default_network(root: str) -> None:
    """`network rm bridge` is refused (predefined), as in docker: its bridge and
    rules go through the service, as the tests' teardown does, with the root."""
    from mydocker.core import roottags
    from mydocker.statemachine import networks
    from mydocker.statemachine.context import Context

    ctx = Context(root, "bench teardown")
    try:
        if networks.find(ctx.conn, networks.DEFAULT_NETWORK) is not None:
            networks.remove(ctx, networks.DEFAULT_NETWORK, allow_predefined=True)
    finally:
        ctx.close()
    roottags.unregister(root)


if __name__ == "__main__":
    sys.exit(main())
