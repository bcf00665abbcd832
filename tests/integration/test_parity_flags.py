"""Side by side with docker 20.10: flags, filters, templates and inspect fields.

Each workflow runs with docker and with mydocker; exit codes and (normalised)
output must match. Skipped, not failed, when no docker daemon answers. With
PARITY_TABLE=FILE the comparison is also written as a markdown table:

    PARITY_TABLE=/tmp/parity.md .venv/bin/pytest -q -p no:cacheprovider tests/integration/test_parity_flags.py
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

DOCKER = shutil.which("docker", path="/usr/bin") or shutil.which("docker")


def _docker_ok() -> bool:
    if DOCKER is None:
        return False
    try:
        return subprocess.run([DOCKER, "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


pytestmark = pytest.mark.skipif(not _docker_ok(), reason="no docker daemon to compare with")

TAG = secrets.token_hex(3)
# (what a user does, setup commands, the command compared). {n} is a per-run name prefix,
# {img} the image. Setup runs on both sides and must succeed.
WORKFLOWS: list[tuple[str, list[list[str]], list[str]]] = [
    ("ps filter by label, .Label in a template",
     [["create", "--name", "{n}-a", "--network", "none", "-l", "tier=web", "-l", "com.x.team=core", "{img}", "true"],
      ["create", "--name", "{n}-b", "--network", "none", "-l", "tier=db", "{img}", "true"]],
     ["ps", "-a", "--filter", "name={n}", "--filter", "label=tier=web",
      "--format", '{{.Names}} {{.Label "com.x.team"}}']),
    ("ps table with a .Label column",
     [], ["ps", "-a", "--filter", "name={n}-a", "--format", 'table {{.Names}}\t{{.Label "com.x.team"}}']),
    ("ps: two label filters must both hold",
     [], ["ps", "-a", "-q", "--filter", "label=tier=web", "--filter", "label=tier=db"]),
    ("ps: same key ORs, different keys AND",
     [], ["ps", "-a", "--filter", "name={n}-a", "--filter", "name={n}-b", "--filter", "status=created",
          "--format", "{{.Names}}"]),
    ("ps: unknown status", [], ["ps", "--filter", "status=bogus"]),
    ("ps: unknown filter key", [], ["ps", "--filter", "colour=red"]),
    ("ps: bad exited value", [], ["ps", "--filter", "exited=x"]),
    ("ps: filter without =", [], ["ps", "--filter", "status"]),
    ("ps: extra argument", [], ["ps", "extra"]),
    ("ps: template with an unknown field", [], ["ps", "-a", "--filter", "name={n}-a", "--format", "{{.Foo}}"]),
    ("ps: template with an unknown function", [], ["ps", "--format", "{{foo .ID}}"]),
    ("ps: unclosed action", [], ["ps", "--format", "{{.ID"]),
    ("inspect: range over labels", [],
     ["inspect", "-f", "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "{n}-a"]),
    ("inspect: json of a map", [], ["inspect", "-f", "{{json .Config.Labels}}", "{n}-a"]),
    ("inspect: map printing, index, len", [],
     ["inspect", "-f", '{{.Config.Labels}} [{{index .Config.Labels "nope"}}] {{len .Config.Labels}} '
      '{{.Config.Labels.nope}}', "{n}-a"]),
    ("inspect: if/else, eq, printf, upper, title, split, join", [],
     ["inspect", "-f", '{{if eq .State.Status "created"}}{{printf "%s-%05d" (upper .State.Status) 42}}'
      '{{else}}no{{end}} {{title "hello world"}} {{join (split "a:b:c" ":") "+"}}', "{n}-a"]),
    ("inspect: with, variables, $", [],
     ["inspect", "-f", "{{with .Config}}{{.Labels.tier}}{{end}} {{$x := .State.Running}}{{$x}}", "{n}-a"]),
    ("inspect: unknown key", [], ["inspect", "-f", "{{.Foo}}", "{n}-a"]),
    ("inspect: a template that does not parse", [], ["inspect", "-f", "{{.Foo", "{n}-a"]),
    ("inspect: a found and a missing object", [], ["inspect", "-f", "{{.Name}}", "{n}-a", "{n}-none"]),
    ("run: unknown flag", [], ["run", "--bogus", "1", "{img}", "true"]),
    ("run -it without a terminal", [], ["run", "-it", "--rm", "--network", "none", "{img}", "true"]),
    ("create: --add-host without an IP", [], ["create", "--add-host", "foo", "{img}", "true"]),
    ("create: --add-host with a bad IP", [], ["create", "--add-host", "foo:notip", "{img}", "true"]),
    ("create: --dns that is not an IP", [], ["create", "--dns", "notip", "{img}", "true"]),
    ("create: --mount with an unknown key", [], ["create", "--mount", "target=/x,bogus=1", "{img}", "true"]),
    ("create: --stop-timeout not a number", [], ["create", "--stop-timeout", "x", "{img}", "true"]),
    ("create: -p with a bad container port", [], ["create", "-p", "80x", "{img}", "true"]),
    ("run: --add-host lands in /etc/hosts", [],
     ["run", "--rm", "--network", "none", "--add-host", "db.test:10.1.2.3", "{img}", "grep", "db.test", "/etc/hosts"]),
    ("run: --dns/--dns-search/--dns-option make resolv.conf", [],
     ["run", "--rm", "--network", "none", "--dns", "192.0.2.53", "--dns-search", "ex.test", "--dns-option",
      "ndots:2", "{img}", "cat", "/etc/resolv.conf"]),
    ("run: --tmpfs with size and mode", [],
     ["run", "--rm", "--network", "none", "--tmpfs", "/scratch:size=1m,mode=700", "{img}", "sh", "-c",
      "grep ' /scratch ' /proc/mounts | cut -d' ' -f2-4"]),
    ("run: --mount type=tmpfs", [],
     ["run", "--rm", "--network", "none", "--mount", "type=tmpfs,target=/t,tmpfs-size=2m", "{img}", "sh", "-c",
      "grep ' /t ' /proc/mounts | cut -d' ' -f2-4"]),
    ("inspect: stop signal and timeout, tmpfs, dns, extra hosts, exposed ports",
     [["create", "--name", "{n}-c", "--network", "none", "--stop-signal", "HUP", "--stop-timeout", "3",
       "--tmpfs", "/t:size=1m", "--dns", "192.0.2.1", "--add-host", "h:1.2.3.4", "--expose", "7000",
       "-l", "k=v", "{img}", "true"]],
     ["inspect", "-f", "{{.Config.StopSignal}} {{.Config.StopTimeout}} {{.HostConfig.Tmpfs}} {{.HostConfig.Dns}} "
      "{{.HostConfig.ExtraHosts}} {{.Config.ExposedPorts}} {{.HostConfig.RestartPolicy.Name}} {{.RestartCount}}",
      "{n}-c"]),
    ("ps: exited=N and .Status", [["run", "--name", "{n}-x", "--network", "none", "{img}", "sh", "-c", "exit 3"]],
     ["ps", "-a", "--filter", "name={n}-x", "--filter", "exited=3", "--format", "{{.Names}} {{.State}}"]),
    ("logs --details", [["run", "--name", "{n}-l", "--network", "none", "{img}", "echo", "hi"]],
     ["logs", "--details", "{n}-l"]),
    ("logs --since with a bad value", [], ["logs", "--since", "bogus", "{n}-l"]),
    ("images: bad dangling value", [], ["images", "--filter", "dangling=maybe"]),
    ("volume ls: unknown filter", [], ["volume", "ls", "--filter", "bogus=1"]),
    ("network ls: bad type", [], ["network", "ls", "--filter", "type=x"]),
    ("rm without an argument", [], ["rm"]),
    ("container rm without an argument", [], ["container", "rm"]),
    ("logs with two arguments", [], ["logs", "a", "b"]),
    ("exec with only a container", [], ["exec", "{n}-a"]),
    ("port with three arguments", [], ["port", "a", "b", "c"]),
    ("images with two arguments", [], ["images", "a", "b"]),
    ("volume ls with an argument", [], ["volume", "ls", "x"]),
    ("volume create -o: unknown option", [], ["volume", "create", "-o", "x=1", "{n}-vo"]),
    ("volume create -o: o without device", [], ["volume", "create", "-o", "o=size=1m", "{n}-vo"]),
    ("volume create -o: device without type", [], ["volume", "create", "--opt", "device=/tmp", "{n}-vo"]),
    ("network create without a name", [], ["network", "create"]),
    ("run: --device-read-bps without /dev/", [], ["run", "--device-read-bps", "vda:1mb", "{img}", "true"]),
    ("run: --device-write-iops not an integer", [], ["run", "--device-write-iops", "/dev/vda:1.5", "{img}", "true"]),
    ("run: --device-cgroup-rule malformed", [], ["run", "--device-cgroup-rule", "c 1:2 rwx", "{img}", "true"]),
    ("run: --cgroupns bogus", [], ["run", "--cgroupns", "bogus", "{img}", "true"]),
    ("run: --blkio-weight not a number", [], ["run", "--blkio-weight", "x", "{img}", "true"]),
    ("run -a stderr shows only stderr", [],
     ["run", "--rm", "-a", "stderr", "--network", "none", "{img}", "sh", "-c", "echo out; echo err >&2"]),
    ("run -a with a bad stream", [], ["run", "-a", "bogus", "{img}", "true"]),
    ("run -a with -d", [], ["run", "-d", "-a", "stdout", "{img}", "true"]),
    ("run: the container's memory cgroup shows -m", [],
     ["run", "--rm", "--network", "none", "-m", "64m", "{img}", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]),
    ("run: /sys/fs/cgroup is read-only", [],
     ["run", "--rm", "--network", "none", "{img}", "mkdir", "/sys/fs/cgroup/pids/x"]),
    ("inspect: blkio throttles and device rules", [["create", "--name", "{n}-io", "--network", "none",
      "--device-read-bps", "/dev/vda:1mb", "--device-write-iops", "/dev/vda:100", "--device-cgroup-rule",
      "c 42:* rmw", "{img}", "true"]],
     ["inspect", "-f", "{{json .HostConfig.BlkioDeviceReadBps}} {{json .HostConfig.BlkioDeviceWriteIOps}} "
      "{{json .HostConfig.BlkioDeviceWriteBps}} {{.HostConfig.DeviceCgroupRules}} {{.HostConfig.CgroupnsMode}} "
      "{{.HostConfig.BlkioWeight}}", "{n}-io"]),
    # helper flags3
    ("run: --runtime unknown", [], ["run", "--runtime", "bogus", "{img}", "true"]),
    ("run: --userns bogus", [], ["run", "--userns", "bogus", "{img}", "true"]),
    ("run: --blkio-weight-device weight out of range", [],
     ["run", "--blkio-weight-device", "/dev/vda:5", "{img}", "true"]),
    ("run --volumes-from: the donor's bind, read-only as it was",
     [["create", "--name", "{n}-vd", "--network", "none", "-v", "/etc:/hostetc:ro", "{img}", "true"]],
     ["run", "--rm", "--network", "none", "--volumes-from", "{n}-vd", "{img}", "sh", "-c",
      "test -f /hostetc/hostname && echo yes; touch /hostetc/x"]),
    ("run --volumes-from with a bad mode", [], ["run", "--volumes-from", "{n}-vd:xx", "{img}", "true"]),
    ("inspect: VolumesFrom, Runtime, UsernsMode, BlkioWeightDevice",
     [["create", "--name", "{n}-rf", "--network", "none", "--volumes-from", "{n}-vd:ro", "--runtime", "runc",
       "--userns", "host", "--blkio-weight-device", "/dev/vda:300", "{img}", "true"]],
     ["inspect", "-f", "{{.HostConfig.VolumesFrom}} {{.HostConfig.Runtime}} {{.HostConfig.UsernsMode}} "
      "{{json .HostConfig.BlkioWeightDevice}} {{len .Mounts}}", "{n}-rf"]),
    ("exec --detach-keys bogus", [["run", "-d", "--name", "{n}-ex", "--network", "none", "{img}", "sleep", "60"]],
     ["exec", "--detach-keys", "bogus", "{n}-ex", "true"]),
]


def _normalise(text: str, tool: str) -> str:
    """Exit-code-relevant text only: docker's usage footer (See '...', Usage:, the
    command's description) goes, as do the two tools' error prefixes."""
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("See '"):
            break
        line = re.sub(r" See '[^']+ --help'\.$", "", line)
        line = re.sub(r"^(Error: |Error response from daemon: |docker: )+", "", line)  # docker: Error response...
        line = line.replace(f"{tool} ", "TOOL ").replace(f'"{tool}', '"TOOL')
        line = re.sub(r"\*formatter\.\w+", "T", line)
        lines.append(line.rstrip("."))
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """A busybox image docker can run, imported under a tag of our own (removed after)."""
    rootfs = tmp_path_factory.mktemp("bb")
    busybox = shutil.which("busybox", path="/bin:/usr/bin")
    if busybox is None:
        pytest.skip("no busybox binary to build an image from")
    tarball = rootfs / "busybox.tar"
    with tarfile.open(tarball, "w") as tar:
        for d in ("bin", "proc", "sys", "dev", "tmp", "etc"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        tar.add(busybox, "bin/busybox")
        applets = subprocess.run([busybox, "--list"], capture_output=True, text=True).stdout.split()
        for applet in applets:
            if applet != "busybox":
                info = tarfile.TarInfo(f"bin/{applet}")
                info.type, info.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(info)
    name = f"mydocker-parity-{TAG}:latest"
    subprocess.run([DOCKER, "import", "-c", "ENV PATH=/bin", str(tarball), name], check=True, capture_output=True)
    yield name
    subprocess.run([DOCKER, "rmi", "-f", name], capture_output=True)


def test_flags_filters_templates_match_docker(md, image):
    prefix = f"par{TAG}"
    docker_cmd = [DOCKER]
    mine = md
    rows = []
    try:
        for what, setup, command in WORKFLOWS:
            def fill(arg: str) -> str:  # not str.format: templates are full of braces
                return arg.replace("{n}", prefix).replace("{img}", image)

            for step in setup:
                args = [fill(a) for a in step]
                d = subprocess.run(docker_cmd + args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
                assert d.returncode in (0, 3), (args, d.stderr)
                m = mine(*[a.replace(image, "busybox") for a in args])
                assert m.code in (0, 3), (args, m.err)
            args = [fill(a) for a in command]
            d = subprocess.run(docker_cmd + args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            m = mine(*[a.replace(image, "busybox") for a in args])
            theirs = (d.returncode, _normalise(d.stdout + d.stderr, "docker"))
            ours = (m.code, _normalise(m.out + m.err, "mydocker"))
            rows.append((what, " ".join(args).replace(image, "busybox"), theirs, ours))
    finally:
        listed = subprocess.run(docker_cmd + ["ps", "-aq", "--filter", f"name={prefix}"], capture_output=True,
                                text=True).stdout.split()
        if listed:
            subprocess.run(docker_cmd + ["rm", "-f", *listed], capture_output=True)
        for cid in md.ok("ps", "-aq").split():
            md.ok("rm", "-f", cid)
    table = Path(os.environ["PARITY_TABLE"]) if os.environ.get("PARITY_TABLE") else None
    if table is not None:
        out = ["| workflow | docker 20.10 | mydocker | same |", "|---|---|---|---|"]
        for what, _args, theirs, ours in rows:
            def cell(r: tuple[int, str]) -> str:
                return f"exit {r[0]}: `{r[1].replace('|', '¦').replace(chr(10), ' ⏎ ')[:90]}`"
            out.append(f"| {what} | {cell(theirs)} | {cell(ours)} | {'yes' if theirs == ours else 'NO'} |")
        table.write_text("\n".join(out) + "\n")
    different = [(what, theirs, ours) for what, _a, theirs, ours in rows if theirs != ours]
    assert different == []
