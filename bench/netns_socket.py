#!/usr/bin/env python3
"""The first IPRoute of a container's netns in a fresh process, as the monitor's
attach() pays it: pyroute2's IPRoute(netns=...) (a forked helper, which runs
`ldconfig -p`) against core.network._iproute (setns on this thread). Interleaved,
medians of wall and CPU (the children's included).

    .venv/bin/python bench/netns_socket.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

ONE = """
import resource, sys, time
from pyroute2 import IPRoute
from mydocker.core import network
path, mode = sys.argv[1], sys.argv[2]
def cpu():
    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))
c, t = cpu(), time.perf_counter()
with (IPRoute(netns=path, flags=0) if mode == "pyroute2" else network._iproute(path)) as ns:
    ns.link_lookup(ifname="lo")
print((time.perf_counter() - t) * 1000, (cpu() - c) * 1000)
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=11)
    args = p.parse_args()
    holder = subprocess.Popen(["unshare", "--net", "sleep", "3600"])  # a netns of its own, no host object
    try:
        path = f"/proc/{holder.pid}/ns/net"
        while os.readlink(path) == os.readlink("/proc/self/ns/net"):
            os.sched_yield()  # unshare has not run yet
        times: dict[str, list[tuple[float, float]]] = {"pyroute2": [], "setns": []}
        for _ in range(args.repeat):
            for mode, runs in times.items():
                out = subprocess.run([sys.executable, "-c", ONE, path, mode],
                                     capture_output=True, text=True, check=True)
                wall, cpu = map(float, out.stdout.split())
                runs.append((wall, cpu))
        for mode, runs in times.items():
            print(f"{mode:9} wall {statistics.median(r[0] for r in runs):6.1f} ms   "
                  f"cpu {statistics.median(r[1] for r in runs):6.1f} ms")
    finally:
        holder.kill()
        holder.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
