"""NAT and filtering through the iptables binary, in chains of our own.

Every rule we add lives in a MYDOCKER-* chain and carries a comment naming the
state root, network (and container) it belongs to, `mydocker@<root tag>:<network>
[:<container>]`, so removal is exact, a leak check can find ours, and what a
deleted root left behind can be told apart (rules made before root tags say
`mydocker:<network>[:<container>]`). A rule is a plain (table, chain, args) triple: the statemachine
records the triples in event payloads and hands the same triples back to
remove them later, which is why removal needs no state here.

The skeleton (our chains and the jumps into them from the built-in chains) is
shared by every state root on the host, so all changes happen under one
host-wide flock, and the skeleton is taken away again once no rule of anybody's
is left in it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mydocker.core.locks import flocked

IPTABLES = "iptables"
LOCK_FILE = "/run/mydocker-iptables.lock"

NAT_DNAT = "MYDOCKER"  # DNAT for published ports, reached from PREROUTING and OUTPUT
NAT_POST = "MYDOCKER-POSTROUTING"  # MASQUERADE of subnets, hairpin and localhost
FWD = "MYDOCKER-FORWARD"  # what may be forwarded to and from our bridges
ISO1 = "MYDOCKER-ISOLATION-1"  # traffic leaving one of our bridges for another interface...
ISO2 = "MYDOCKER-ISOLATION-2"  # ...is dropped if that interface is another of our bridges

CHAINS: tuple[tuple[str, str], ...] = (("nat", NAT_DNAT), ("nat", NAT_POST), ("filter", ISO2),
                                       ("filter", ISO1), ("filter", FWD))
# (table, built-in chain, args): the jumps into our chains. FORWARD's is inserted
# first so a host firewall's DROP policy (docker's own, for one) cannot hide ours.
JUMPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("nat", "PREROUTING", ("-m", "addrtype", "--dst-type", "LOCAL", "-j", NAT_DNAT)),
    ("nat", "OUTPUT", ("-m", "addrtype", "--dst-type", "LOCAL", "-j", NAT_DNAT)),
    ("nat", "POSTROUTING", ("-j", NAT_POST)),
    ("filter", "FORWARD", ("-j", FWD)),
)
# Rules that belong to the skeleton, not to any network.
SKELETON_RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("filter", FWD, ("-j", ISO1)),
)


class IptablesError(Exception):
    pass


@dataclass(frozen=True)
class Rule:
    table: str
    chain: str
    args: tuple[str, ...]

    def to_list(self) -> list[str]:
        return [self.table, self.chain, *self.args]

    @classmethod
    def from_list(cls, items: list[str]) -> "Rule":
        return cls(items[0], items[1], tuple(items[2:]))


def _run(args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run([IPTABLES, "-w", *args], capture_output=True, text=True, timeout=60)
    except FileNotFoundError as exc:
        raise IptablesError("iptables is not installed") from exc
    if check and proc.returncode != 0:
        raise IptablesError(f"iptables {' '.join(args)}: {proc.stderr.strip() or proc.returncode}")
    return proc


@contextmanager
def host_lock() -> Iterator[None]:
    """Serialize skeleton and rule changes across every mydocker on the host."""
    with flocked(LOCK_FILE):
        yield


def _exists(table: str, chain: str, args: tuple[str, ...]) -> bool:
    return _run(["-t", table, "-C", chain, *args], check=False).returncode == 0


def _chain_exists(table: str, chain: str) -> bool:
    return _run(["-t", table, "-S", chain], check=False).returncode == 0


def _ensure_skeleton() -> None:
    for table, chain in CHAINS:
        if not _chain_exists(table, chain):
            _run(["-t", table, "-N", chain])
    for table, chain, args in SKELETON_RULES:
        if not _exists(table, chain, args):
            _run(["-t", table, "-I", chain, "1", *args])
    for table, chain, args in JUMPS:
        if not _exists(table, chain, args):
            verb = ["-I", chain, "1"] if chain == "FORWARD" else ["-A", chain]
            _run(["-t", table, *verb, *args])


def add(rules: list[Rule]) -> None:
    """Append rules that are not there yet (so re-running a half-done setup is fine)."""
    with host_lock():
        _ensure_skeleton()
        for rule in rules:
            if not _exists(rule.table, rule.chain, rule.args):
                _run(["-t", rule.table, "-A", rule.chain, *rule.args])


def remove(rules: list[Rule]) -> None:
    """Delete rules; one already gone is success. Prunes an empty skeleton."""
    with host_lock():
        for rule in rules:
            if _chain_exists(rule.table, rule.chain):
                while _exists(rule.table, rule.chain, rule.args):
                    _run(["-t", rule.table, "-D", rule.chain, *rule.args])
        _prune_skeleton()


def _rules_in(table: str, chain: str) -> list[str]:
    proc = _run(["-t", table, "-S", chain], check=False)
    if proc.returncode != 0:
        return []
    return [line for line in proc.stdout.splitlines() if line.startswith("-A ")]


def _prune_skeleton() -> None:
    """Take our chains away once nobody (in any root) has a rule left in them."""
    skeleton = {f"-A {chain} {' '.join(args)}" for _, chain, args in SKELETON_RULES}
    for table, chain in CHAINS:
        if any(line not in skeleton for line in _rules_in(table, chain)):
            return
    for table, chain, args in JUMPS:
        while _exists(table, chain, args):
            _run(["-t", table, "-D", chain, *args])
    for table, chain in CHAINS:
        if _chain_exists(table, chain):
            _run(["-t", table, "-F", chain])
    for table, chain in CHAINS:
        if _chain_exists(table, chain):
            _run(["-t", table, "-X", chain])


def list_rules() -> list[str]:
    """Every rule in our chains, as `iptables -S` prints them (for leak checks and ports)."""
    out: list[str] = []
    for table, chain in CHAINS:
        out += [f"{table} {line}" for line in _rules_in(table, chain)]
    return out


def parse_listed(line: str) -> Rule:
    """A list_rules() line ('nat -A CHAIN args...') back into a Rule."""
    import shlex

    table, _, chain, *args = shlex.split(line)
    return Rule(table, chain, tuple(args))


def host_ports_taken() -> set[tuple[str, int]]:
    """(proto, host port) of every DNAT rule in our chain, whatever root made it."""
    taken: set[tuple[str, int]] = set()
    for line in _rules_in("nat", NAT_DNAT):
        words = line.split()
        if "--dport" in words and "-p" in words:
            taken.add((words[words.index("-p") + 1], int(words[words.index("--dport") + 1])))
    return taken


# --- the rules a network and an endpoint need --------------------------------------------


TAG_PREFIX, LEGACY_TAG_PREFIX = "mydocker@", "mydocker:"


def _tag(root_tag: str, *parts: str) -> tuple[str, ...]:
    owner = f"{TAG_PREFIX}{root_tag}:" if root_tag else LEGACY_TAG_PREFIX
    return ("-m", "comment", "--comment", owner + ":".join(parts))


def owner_of(line: str) -> tuple[str, str, str] | None:
    """(root tag, short network id, short container id) from a rule's comment;
    root tag '' for a legacy rule, None for a rule that is not ours."""
    import shlex

    words = shlex.split(line)
    if "--comment" not in words or words.index("--comment") + 1 >= len(words):
        return None
    comment = words[words.index("--comment") + 1]
    if comment.startswith(TAG_PREFIX):
        parts = comment[len(TAG_PREFIX):].split(":")
        if len(parts) in (2, 3) and all(parts):
            return parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    elif comment.startswith(LEGACY_TAG_PREFIX):
        parts = comment[len(LEGACY_TAG_PREFIX):].split(":")
        if len(parts) in (1, 2) and all(parts):
            return "", parts[0], parts[1] if len(parts) == 2 else ""
    return None


def network_rules(network_id: str, bridge: str, subnet: str, root_tag: str = "") -> list[Rule]:
    tag = _tag(root_tag, network_id[:12])
    return [
        # outbound NAT: the subnet leaves the host as the host
        Rule("nat", NAT_POST, ("-s", subnet, "!", "-o", bridge, *tag, "-j", "MASQUERADE")),
        # localhost:port -> container: the reply must come back to a real address
        Rule("nat", NAT_POST, ("-o", bridge, "-m", "addrtype", "--src-type", "LOCAL", *tag, "-j", "MASQUERADE")),
        Rule("filter", FWD, ("-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", *tag,
                             "-j", "ACCEPT")),
        Rule("filter", FWD, ("-i", bridge, "-o", bridge, *tag, "-j", "ACCEPT")),
        Rule("filter", FWD, ("-i", bridge, "!", "-o", bridge, *tag, "-j", "ACCEPT")),
        Rule("filter", ISO1, ("-i", bridge, "!", "-o", bridge, *tag, "-j", ISO2)),
        Rule("filter", ISO2, ("-o", bridge, *tag, "-j", "DROP")),
    ]


def port_rules(network_id: str, container_id: str, bridge: str, ip: str,
               ports: list[dict[str, object]], root_tag: str = "") -> list[Rule]:
    """DNAT host[ip]:port to the container, and what lets it through and back (hairpin)."""
    tag = _tag(root_tag, network_id[:12], container_id[:12])
    rules: list[Rule] = []
    for p in ports:
        proto, hport, cport = str(p["proto"]), str(p["host_port"]), str(p["container_port"])
        dest = ("-d", str(p["host_ip"])) if p.get("host_ip") else ()
        rules.append(Rule("nat", NAT_DNAT, (*dest, "-p", proto, "-m", proto, "--dport", hport, *tag,
                                            "-j", "DNAT", "--to-destination", f"{ip}:{cport}")))
        rules.append(Rule("nat", NAT_POST, ("-s", ip, "-d", ip, "-p", proto, "-m", proto, "--dport", cport, *tag,
                                            "-j", "MASQUERADE")))
        rules.append(Rule("filter", FWD, ("-d", ip, "!", "-i", bridge, "-o", bridge, "-p", proto, "-m", proto,
                                          "--dport", cport, *tag, "-j", "ACCEPT")))
    return rules
