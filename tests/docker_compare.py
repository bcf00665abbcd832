"""Run everyday docker workflows on docker 20.10 and on mydocker, side by side.

    sudo .venv/bin/python tests/docker_compare.py [--docker /usr/bin/docker]

Prints a table "workflow | docker | mydocker | same?": what each side returned
(exit code and the observable the workflow picks: a status, an error's words,
a file's content), normalised (ids, names, "Error response from daemon:").
Exits 0 when every row is the same, 1 otherwise, 77 (skipped) when no docker
engine answers. tests/integration/test_commands_docker_compare.py runs it in
the suite and skips when docker is absent.

Both sides get their own names (a random prefix) and remove what they made;
containers use --network none, so no traffic leaves the host.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SKIP = 77
MYDOCKER = str(Path(sys.executable).parent / "mydocker")


@dataclass
class Out:
    code: int
    out: str
    err: str


class Side:
    def __init__(self, argv0: list[str], label: str) -> None:
        self.argv0 = argv0
        self.label = label
        self.prefix = f"surfcmp-{secrets.token_hex(3)}"
        self.made: list[str] = []

    def __call__(self, *args: str, input: str | None = None) -> Out:
        proc = subprocess.run([*self.argv0, *args], capture_output=True, text=True, input=input, timeout=120,
                              stdin=None if input is not None else subprocess.DEVNULL)
        return Out(proc.returncode, proc.stdout, proc.stderr)

    def name(self, short: str) -> str:
        full = f"{self.prefix}-{short}"
        self.made.append(full)
        return full

    def run_d(self, short: str, *cmd: str) -> str:
        name = self.name(short)
        self("run", "-d", "--name", name, "--network", "none", "busybox", *(cmd or ("sleep", "1000")))
        return name

    def cleanup(self) -> None:
        for name in self.made:
            self("unpause", name)
            self("rm", "-f", name)


def normalise(text: str, side: Side) -> str:
    text = text.replace("Error response from daemon: ", "Error: ")
    text = re.sub(r"(sha256:)?[0-9a-f]{64}", "<id>", text)
    text = re.sub(r"\b[0-9a-f]{12}\b", "<id>", text)
    text = text.replace(side.prefix, "<p>")
    # docker's CLI adds a summary line after the daemon's error ("Error: failed to
    # start containers: X"); mydocker prints the one line that says why.
    lines = [line for line in text.strip().splitlines()
             if not re.match(r"Error: failed to (start containers|rename container)", line)]
    return " / ".join(lines)


def err(o: Out, side: Side) -> str:
    return f"{o.code}: {normalise(o.err, side)}"


# --- the workflows: each returns what is compared --------------------------------------


def w_group_ls(s: Side) -> str:
    name = s.run_d("ls")
    return f"{s('container', 'ls', '--format', '{{.Names}}').code} {name in s('container', 'ls').out}"


def w_pause_status(s: Side) -> str:
    name = s.run_d("pause")
    s("pause", name)
    status = s("inspect", "-f", "{{.State.Status}} {{.State.Running}} {{.State.Paused}}", name).out.strip()
    ps = s("ps", "--filter", f"name={name}", "--format", "{{.Status}}").out if s.label == "docker" else \
        s("ps", "--format", "{{.Names}} {{.Status}}").out
    return f"{status}; ps paused: {'(Paused)' in ps}"


def w_pause_twice(s: Side) -> str:
    name = s.run_d("p2")
    s("pause", name)
    return err(s("pause", name), s)


def w_exec_paused(s: Side) -> str:
    name = s.run_d("p3")
    s("pause", name)
    return err(s("exec", name, "true"), s)


def w_start_paused(s: Side) -> str:
    name = s.run_d("p4")
    s("pause", name)
    return err(s("start", name), s)


def w_rm_paused(s: Side) -> str:
    name = s.run_d("p5")
    s("pause", name)
    return err(s("rm", name), s)


def w_kill_paused(s: Side) -> str:
    name = s.run_d("p6")
    s("pause", name)
    code = s("kill", "-s", "HUP", name).code
    return f"{code} {s('inspect', '-f', '{{.State.Status}}', name).out.strip()}"


def w_stop_paused(s: Side) -> str:
    name = s.run_d("p7")
    s("pause", name)
    code = s("stop", "-t", "1", name).code
    return f"{code} {s('inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name).out.strip()}"


def w_unpause_running(s: Side) -> str:
    return err(s("unpause", s.run_d("p8")), s)


def w_pause_stopped(s: Side) -> str:
    name = s.run_d("p9", "true")
    s("wait", name)
    return err(s("pause", name), s)


def w_rm_f_paused(s: Side) -> str:
    name = s.run_d("p10")
    s("pause", name)
    code = s("rm", "-f", name).code
    return f"{code} {s('inspect', name).code}"


def w_restart(s: Side) -> str:
    name = s.run_d("restart")
    before = s("inspect", "-f", "{{.State.Pid}}", name).out
    o = s("restart", "-t", "1", name)
    after = s("inspect", "-f", "{{.State.Pid}} {{.State.Status}}", name).out.split()
    return f"{o.code} {normalise(o.out, s)} new pid: {after[0] != before.strip()} {after[1]}"


def w_restart_missing(s: Side) -> str:
    return err(s("restart", "nosuch-surf"), s)


def w_rename(s: Side) -> str:
    name = s.run_d("rn")
    new = s.name("renamed")
    code = s("rename", name, new).code
    return f"{code} {normalise(s('inspect', '-f', '{{.Name}}', new).out, s)}"


def w_rename_same(s: Side) -> str:
    name = s.run_d("rn2")
    return err(s("rename", name, name), s)


def w_rename_args(s: Side) -> str:
    o = s("rename", "only-one")
    return f"{o.code}: {'requires exactly 2 arguments' in o.err}"


def w_top(s: Side) -> str:
    o = s("top", s.run_d("top"))
    lines = o.out.splitlines()
    return f"{o.code} {lines[0].split()} {lines[1].split()[-2:]}"


def w_top_stopped(s: Side) -> str:
    name = s.run_d("top2", "true")
    s("wait", name)
    o = s("top", name)
    return f"{o.code}: {'is not running' in o.err}"


def w_port_none(s: Side) -> str:
    name = s.run_d("port")
    a, b = s("port", name), s("port", name, "80")
    return f"{a.code} '{a.out}' | {err(b, s)}"


def w_diff(s: Side) -> str:
    name = s.run_d("diff", "sh", "-c", "mkdir /new; echo > /new/f; rm /bin/ls; sleep 1000")
    time.sleep(1)
    o = s("diff", name)
    return f"{o.code} {sorted(line for line in o.out.splitlines() if 'etc' not in line)}"


def w_cp_roundtrip(s: Side) -> str:
    name = s.run_d("cp")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "in.txt")
        src.write_text("payload\n")
        a = s("cp", str(src), f"{name}:/tmp/")
        b = s("cp", f"{name}:/tmp/in.txt", str(Path(tmp, "back.txt")))
        return f"{a.code} {b.code} {Path(tmp, 'back.txt').read_text()!r}"


def w_cp_dir_semantics(s: Side) -> str:
    name = s.run_d("cpdir", "sh", "-c", "mkdir -p /d/s && echo 1 > /d/s/a && sleep 1000")
    time.sleep(1)
    with tempfile.TemporaryDirectory() as tmp:
        s("cp", f"{name}:/d", f"{tmp}/new")
        s("cp", f"{name}:/d", f"{tmp}/new")
        s("cp", f"{name}:/d/.", f"{tmp}/contents")
        return str(sorted(str(p.relative_to(tmp)) for p in Path(tmp).rglob("*")))


def w_cp_stopped(s: Side) -> str:
    name = s.run_d("cpst", "sh", "-c", "echo made > /made")
    s("wait", name)
    o = s("cp", f"{name}:/made", "-")
    return f"{o.code} {'made' in o.out}"


def w_cp_missing(s: Side) -> str:
    name = s.run_d("cpm")
    return err(s("cp", f"{name}:/nonexist", "/tmp/surfcmp-x"), s)


def w_update_noflags(s: Side) -> str:
    return err(s("update", s.run_d("up")), s)


def w_update_pids(s: Side) -> str:
    name = s.run_d("up2")
    o = s("update", "--pids-limit", "50", name)
    return f"{o.code} {s('inspect', '-f', '{{.HostConfig.PidsLimit}}', name).out.strip()}"


def w_update_bad(s: Side) -> str:
    return str(s("update", "-m", "bogus", s.run_d("up3")).code)


def w_stats(s: Side) -> str:
    name = s.run_d("stats")
    o = s("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", name)
    return f"{o.code} {normalise(o.out, s)}"


def w_stats_header(s: Side) -> str:
    name = s.run_d("stats2")
    return str(re.split(r"\s{2,}", s("stats", "--no-stream", name).out.splitlines()[0].strip()))


# A real prune on a docker engine other people share would remove their containers:
# only refusals (which change nothing) are compared.
def w_container_prune(s: Side) -> str:
    return err(s("container", "prune", "-f", "--filter", "until=bogus"), s)


def w_prune_bad_filter(s: Side) -> str:
    return err(s("container", "prune", "-f", "--filter", "foo=bar"), s)


def w_history_missing(s: Side) -> str:
    return err(s("history", "nosuch-surf"), s)


def w_history_header(s: Side) -> str:
    return str(s("history", "busybox").out.splitlines()[0].split())


def w_image_inspect(s: Side) -> str:
    o = s("image", "inspect", "-f", "{{.Os}}", "busybox")
    return f"{o.code} {o.out.strip()}"


def w_system_df(s: Side) -> str:
    lines = s("system", "df").out.splitlines()
    return f"{lines[0].split()} {[line.split()[0] for line in lines[1:]]}"


def w_version(s: Side) -> str:
    o = s("version", "--format", "{{.Client.Version}}")
    return f"{o.code} {bool(o.out.strip())}"


LOOP = 'while read l; do [ "$l" = quit ] && exit 7; echo got:$l; done'


def w_attach_stdin(s: Side) -> str:
    name = s.name("att")
    s("run", "-di", "--name", name, "--network", "none", "busybox", "sh", "-c", LOOP)
    o = s("attach", name, input="one\ntwo\nquit\n")
    # the output is not compared: docker 20.10's attach, its stdin at EOF at once, often prints none of it
    return f"{o.code} {s('inspect', '-f', '{{.State.ExitCode}}', name).out.strip()}"


def w_attach_no_tty(s: Side) -> str:
    name = s.name("attt")
    s("run", "-dt", "--name", name, "--network", "none", "busybox", "sh")
    return err(s("attach", name), s).replace("Error: ", "")


def w_attach_stopped(s: Side) -> str:
    name = s.run_d("atts", "true")
    s("wait", name)
    return err(s("attach", name), s).replace("Error: ", "")


def w_missing_argument(s: Side) -> str:
    o = s("rm")
    first = re.sub(r"^Error: |\"(my)?docker | See '.*", "", normalise(o.err, s).split(" / ")[0])
    return f"{o.code}: {first}"


def w_cgroup_view(s: Side) -> str:
    o = s("run", "--rm", "--network", "none", "-m", "64m", "busybox", "sh", "-c",
          "cat /sys/fs/cgroup/memory/memory.limit_in_bytes; mkdir /sys/fs/cgroup/memory/x 2>&1 | grep -c Read-only")
    return f"{o.code} {o.out.split()}"


def w_info(s: Side) -> str:
    return str(s("info", "--format", "{{.ContainersPaused}}").code)


WORKFLOWS: list[tuple[str, Callable[[Side], str]]] = [
    ("container ls (management group)", w_group_ls),
    ("pause: inspect state, ps (Paused)", w_pause_status),
    ("pause twice", w_pause_twice),
    ("exec in a paused container", w_exec_paused),
    ("start a paused container", w_start_paused),
    ("rm a paused container", w_rm_paused),
    ("kill -s HUP a paused container", w_kill_paused),
    ("stop a paused container", w_stop_paused),
    ("unpause a running container", w_unpause_running),
    ("pause an exited container", w_pause_stopped),
    ("rm -f a paused container", w_rm_f_paused),
    ("restart -t 1", w_restart),
    ("restart a missing container", w_restart_missing),
    ("rename", w_rename),
    ("rename to the same name", w_rename_same),
    ("rename with one argument", w_rename_args),
    ("top", w_top),
    ("top of an exited container", w_top_stopped),
    ("port without mappings; port 80", w_port_none),
    ("diff (A/C/D)", w_diff),
    ("cp in and out again", w_cp_roundtrip),
    ("cp dir: new, existing, dir/.", w_cp_dir_semantics),
    ("cp from an exited container", w_cp_stopped),
    ("cp of a missing path", w_cp_missing),
    ("update without flags", w_update_noflags),
    ("update --pids-limit", w_update_pids),
    ("update -m bogus (exit code)", w_update_bad),
    ("stats --no-stream --format", w_stats),
    ("stats header", w_stats_header),
    ("container prune --filter until=bogus", w_container_prune),
    ("container prune --filter foo=bar", w_prune_bad_filter),
    ("history of a missing image", w_history_missing),
    ("history header", w_history_header),
    ("image inspect -f {{.Os}}", w_image_inspect),
    ("system df layout", w_system_df),
    ("version --format", w_version),
    ("info --format", w_info),
    ("attach: stdin to a container run with -di", w_attach_stdin),
    ("attach a -t container without a terminal", w_attach_no_tty),
    ("attach an exited container", w_attach_stopped),
    ("rm without an argument", w_missing_argument),
    ("the container's /sys/fs/cgroup (-m 64m, read-only)", w_cgroup_view),
]


def ensure_busybox(docker: Side, md: Side) -> None:
    if docker("image", "inspect", "busybox").code == 0:
        return
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp, "busybox.tar")
        md("save", "-o", str(archive), "busybox")
        docker("load", "-i", str(archive))


def compare(docker_bin: str) -> int:
    docker = Side([docker_bin], "docker")
    if docker("info", "--format", "{{.ServerVersion}}").code != 0:
        print("docker is absent or its engine does not answer: skipped")
        return SKIP
    root = tempfile.mkdtemp(prefix="surfcmp-root-")
    md = Side([MYDOCKER, "--root", root], "mydocker")
    rows = []
    try:
        ensure_busybox(docker, md)
        for title, workflow in WORKFLOWS:
            results = []
            for side in (docker, md):
                try:
                    results.append(workflow(side))
                except Exception as exc:  # noqa: BLE001 - a broken step is a row, not a crash
                    results.append(f"failed: {exc!r}")
            rows.append((title, results[0], results[1], results[0] == results[1]))
    finally:
        docker.cleanup()
        md.cleanup()
        shutil.rmtree(root, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print(f"{'workflow':<{width}} | docker | mydocker | same?")
    for title, a, b, same in rows:
        print(f"{title:<{width}} | {a} | {b} | {'yes' if same else 'NO'}")
    print(f"{sum(r[3] for r in rows)}/{len(rows)} the same")
    return 0 if all(r[3] for r in rows) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "docker")
    parser.add_argument("--docker", default=default, help="the docker client to run (docker 20.10's)")
    args = parser.parse_args()
    if shutil.which(args.docker) is None and not os.path.exists(args.docker):
        print("docker is absent: skipped")
        return SKIP
    return compare(args.docker)


if __name__ == "__main__":
    sys.exit(main())
