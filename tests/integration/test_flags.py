"""run/create flags, ps/images/volume/network filters and inspect's shape, as a
docker user sees them (expected outputs and words taken from docker 20.10)."""

from __future__ import annotations

import json
import os
import time


def test_labels_filter_ps_and_show_in_templates(md, tmp_path):
    labels = tmp_path / "labels"
    labels.write_text("team=core\n# a comment\n\nempty\n")
    md.ok("run", "-d", "--name", "lab1", "--network", "none", "-l", "tier=web", "--label", "com.example.x=y",
          "--label-file", str(labels), "busybox", "sleep", "60")
    md.ok("create", "--name", "lab2", "--network", "none", "-l", "tier=db", "busybox", "true")
    assert md.ok("ps", "-a", "--filter", "label=tier", "--format", "{{.Names}}").split() == ["lab2", "lab1"]
    assert md.ok("ps", "-a", "--filter", "label=tier=web", "--format", "{{.Names}}").split() == ["lab1"]
    assert md.ok("ps", "-a", "-f", "label=tier=web", "-f", "label=tier=db", "-q") == ""  # labels AND, as docker
    assert md.ok("ps", "-a", "-f", "label=tier", "-f", "label=team", "--format", "{{.Names}}") == "lab1\n"
    shown = md.ok("ps", "--format", '{{.Label "com.example.x"}}|{{.Labels}}')
    assert shown == "y|com.example.x=y,empty=,team=core,tier=web\n"
    inspected = md.inspect("lab1")
    assert inspected["Config"]["Labels"] == {"tier": "web", "com.example.x": "y", "team": "core", "empty": ""}
    assert md.ok("inspect", "-f", "{{.Config.Labels.tier}} {{index .Config.Labels \"team\"}}", "lab1") == "web core\n"
    md.ok("rm", "-f", "lab1", "lab2")


def test_ps_filters_combine_as_dockers(md):
    md.ok("run", "-d", "--name", "f-up", "--network", "none", "busybox", "sleep", "60")
    assert md("run", "--name", "f-three", "--network", "none", "busybox", "sh", "-c", "exit 3").code == 3
    md.ok("create", "--name", "f-new", "--network", "none", "busybox", "true")

    def names(*flags: str) -> list[str]:
        return md.ok("ps", "--format", "{{.Names}}", *flags).split()

    assert names() == ["f-up"]
    assert names("--filter", "status=exited") == ["f-three"]  # a status filter lists stopped ones too
    assert names("-a", "--filter", "exited=3") == ["f-three"]
    assert names("-a", "--filter", "exited=0") == []
    assert names("--filter", "status=running", "--filter", "status=created") == ["f-new", "f-up"]  # same key ORs
    assert names("-a", "--filter", "name=f-", "--filter", "status=created") == ["f-new"]  # keys AND
    assert names("-a", "--filter", "before=f-new") == ["f-three", "f-up"]
    assert names("-a", "--filter", "since=f-up") == ["f-new", "f-three"]
    assert names("-a", "--filter", "ancestor=busybox") == ["f-new", "f-three", "f-up"]
    assert names("-a", "--filter", "network=none", "--filter", "health=none") == ["f-new", "f-three", "f-up"]
    up_id = md.inspect("f-up")["Id"]
    assert names("--filter", f"id={up_id[:6]}") == ["f-up"]
    assert names("-n", "2") == ["f-new", "f-three"]
    assert names("-l") == ["f-new"]
    for bad, words, code in [("status=bogus", "Invalid filter 'status=bogus'", 1),
                             ("colour=red", "Invalid filter 'colour'", 1),
                             ("exited=x", 'strconv.Atoi: parsing "x": invalid syntax', 1),
                             ("health=bogus", "Unrecognised filter value for health: bogus", 1),
                             ("status", "bad format of filter (expected name=value)", 125),
                             ("since=never-was", "no such container never-was", 1)]:
        r = md("ps", "--filter", bad)
        assert (r.code, r.out) == (code, ""), bad
        assert r.err.startswith("Error: ") and words in r.err and r.err.count("\n") == 1, r.err
    md.ok("rm", "-f", "f-up", "f-three", "f-new")


def test_mounts_tmpfs_and_volume_filters(md, tmp_path):
    host_dir = tmp_path / "shared"
    host_dir.mkdir()
    (host_dir / "hello").write_text("hi\n")
    out = md.ok("run", "--name", "mnt", "--network", "none", "--tmpfs", "/scratch:size=1m,mode=700",
                "--mount", "type=tmpfs,target=/t2,tmpfs-size=2m", "--mount", "type=volume,source=flagvol,target=/v",
                "--mount", f"type=bind,source={host_dir},target=/h,readonly", "busybox", "sh", "-c",
                "grep -E ' /(scratch|t2|h) ' /proc/mounts | cut -d' ' -f2-4; cat /h/hello; "
                "touch /h/x 2>/dev/null || echo ro; echo data > /v/f")
    lines = out.splitlines()
    assert "/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700" in lines
    assert "/t2 tmpfs rw,nosuid,nodev,noexec,relatime,size=2048k" in lines
    assert any(line.startswith("/h ") and " ro," in line for line in lines)
    assert lines[-2:] == ["hi", "ro"]
    info = md.inspect("mnt")
    assert sorted((m["Type"], m["Destination"]) for m in info["Mounts"]) == [
        ("bind", "/h"), ("tmpfs", "/t2"), ("volume", "/v")]  # --tmpfs mounts are not listed, as docker
    assert info["HostConfig"]["Tmpfs"] == {"/scratch": "size=1m,mode=700"}
    assert info["HostConfig"]["Mounts"][0] == {"Type": "tmpfs", "Target": "/t2", "TmpfsOptions": {"SizeBytes": 2 << 20}}
    assert md.ok("ps", "-a", "--filter", "volume=flagvol", "-q").strip() == info["Id"][:12]
    assert md.ok("ps", "-a", "--no-trunc", "--filter", "volume=/v", "--format", "{{.Mounts}} {{.LocalVolumes}}") \
        == f",flagvol,{host_dir} 1\n"  # as docker: --tmpfs not listed, --mount tmpfs an empty (nameless) entry
    assert md.ok("volume", "ls", "--filter", "dangling=false", "-q").split() == ["flagvol"]
    md.ok("create", "--name", "only-tmpfs", "--network", "none", "--tmpfs", "/x", "busybox", "true")
    assert md.ok("ps", "-a", "--filter", "name=only-tmpfs", "--format", "[{{.Mounts}}]") == "[]\n"
    md.ok("rm", "mnt", "only-tmpfs")
    assert md.ok("volume", "ls", "--filter", "dangling=true", "--format", "{{.Name}}:{{.Driver}}") == "flagvol:local\n"
    md.ok("volume", "rm", "flagvol")
    for flags, words in [(["--mount", "type=foo,target=/x"], 'invalid mount config for type "foo": mount type unknown'),
                         (["--mount", "target=/x,bogus=1"], "unexpected key 'bogus' in 'bogus=1'"),
                         (["--mount", "type=bind,target=/x"], "field Source must not be empty"),
                         (["--mount", "type=bind,source=/never/was,target=/x"], "bind source path does not exist"),
                         (["--tmpfs", "relative"], "mount path must be absolute")]:
        r = md("create", "--network", "none", *flags, "busybox", "true")
        assert r.code == 125 and words in r.err and r.err.count("\n") == 1, r.err
    assert md.ok("ps", "-aq") == ""


def test_etc_files_take_add_host_and_dns_flags(md):
    out = md.ok("run", "--rm", "--network", "none", "--add-host", "db.local:10.1.2.3", "--dns", "192.0.2.53",
                "--dns-search", "example.test", "--dns-option", "ndots:2", "busybox", "cat", "/etc/hosts",
                "/etc/resolv.conf")
    assert "10.1.2.3\tdb.local" in out.splitlines()
    assert out.endswith("search example.test\nnameserver 192.0.2.53\noptions ndots:2\n")
    for flags, words in [(["--add-host", "nocolon"], 'bad format for add-host: "nocolon"'),
                         (["--add-host", "h:notip"], 'invalid IP address in add-host: "notip"'),
                         (["--dns", "notip"], "notip is not an ip address")]:
        r = md("run", "--rm", "--network", "none", *flags, "busybox", "true")
        assert r.code == 125 and words in r.err, r.err
    assert md.ok("ps", "-aq") == ""


def test_stop_uses_the_containers_stop_signal_and_timeout(md):
    # busybox sh as PID 1 ignores TERM but runs its trap for HUP: --stop-signal HUP stops it at once
    md.ok("run", "-d", "--name", "sig", "--network", "none", "--stop-signal", "HUP", "busybox", "sh", "-c",
          "trap 'exit 7' HUP; while true; do sleep 0.1; done")
    md.ok("stop", "sig")
    assert md.inspect("sig")["State"]["ExitCode"] == 7
    md.ok("run", "-d", "--name", "slow", "--network", "none", "--stop-timeout", "1", "busybox", "sleep", "60")
    md.ok("stop", "slow")  # ignores TERM as PID 1: killed after its own 1 s, not docker's default 10
    assert md.inspect("slow")["State"]["ExitCode"] == 137
    with md.db() as conn:
        kills = [json.loads(p) for (p,) in conn.execute(
            "SELECT payload FROM events WHERE type = 'kill' ORDER BY seq")]
    assert [(k["signal"], k["timeout"]) for k in kills] == [(1, 10.0), (15, 1.0)]
    assert md.inspect("slow")["Config"]["StopTimeout"] == 1 and md.inspect("sig")["Config"]["StopSignal"] == "HUP"
    r = md("create", "--stop-signal", "FOO", "busybox", "true")
    assert r.code == 125 and "Invalid signal: FOO" in r.err
    md.ok("rm", "sig", "slow")


def test_cidfile_unknown_flags_memory_zero_and_tty(md, tmp_path):
    cidfile = tmp_path / "cid"
    cid = md.ok("create", "--cidfile", str(cidfile), "--network", "none", "-m", "0", "busybox", "true").strip()
    assert cidfile.read_text() == cid
    assert md.inspect(cid)["HostConfig"]["Memory"] == 0
    r = md("create", "--cidfile", str(cidfile), "--network", "none", "busybox", "true")
    assert r.code == 125 and "container ID file found" in r.err
    r = md("run", "--bogus", "busybox", "busybox", "true")
    assert (r.code, r.err) == (125, "Error: unknown flag: --bogus\n")
    r = md("run", "-it", "--network", "none", "busybox", "true")  # the fixture's stdin is /dev/null
    assert (r.code, r.err) == (1, "Error: the input device is not a TTY\n")
    assert md.ok("ps", "-aq").split() == [cid[:12]]
    md.ok("rm", cid)


def test_publish_all_and_container_port_alone_pick_free_host_ports(md):
    md.ok("create", "--name", "pub", "-P", "--expose", "7000", "--expose", "7100-7101/udp", "-p", "9000",
          "busybox", "true")
    info = md.inspect("pub")
    bindings = info["HostConfig"]["PortBindings"]
    assert sorted(bindings) == ["7000/tcp", "7100/udp", "7101/udp", "9000/tcp"]
    ports = [int(b[0]["HostPort"]) for b in bindings.values()]
    assert all(1024 < p < 65536 for p in ports) and len(set(ports)) == 4
    assert sorted(info["Config"]["ExposedPorts"]) == ["7000/tcp", "7100/udp", "7101/udp", "9000/tcp"]
    assert info["HostConfig"]["PublishAllPorts"] is True
    host_9000 = bindings["9000/tcp"][0]["HostPort"]
    assert md.ok("ps", "-a", "--filter", f"publish={host_9000}", "--format", "{{.Names}}") == "pub\n"
    assert md.ok("ps", "-a", "--filter", "expose=7000-7050/tcp", "--format", "{{.Names}}") == "pub\n"
    assert md.ok("ps", "-a", "--filter", "expose=7000/udp", "-q") == ""
    md.ok("rm", "pub")


def test_logs_since_until_details(md):
    md.ok("run", "--name", "lg", "--network", "none", "busybox", "sh", "-c", "echo early; sleep 1.5; echo late")
    assert md.ok("logs", "lg") == "early\nlate\n"
    stamps = [line.split()[0] for line in md.ok("logs", "-t", "lg").splitlines()]
    assert md.ok("logs", "--since", stamps[1], "lg") == "late\n"
    assert md.ok("logs", "--until", stamps[1], "lg") == "early\n"
    assert md.ok("logs", "--since", "1h", "lg") == "early\nlate\n"  # durations count back from now
    assert md.ok("logs", "--until", "1h", "lg") == ""
    assert md.ok("logs", "--details", "lg") == " early\n late\n"
    r = md("logs", "--since", "bogus", "lg")
    assert r.code == 1 and 'invalid value for "since": failed to parse value as time or duration: "bogus"' in r.err
    md.ok("rm", "lg")


def test_images_filters_and_formats(md):
    md.ok("images")
    md.ok("tag", "busybox", "mine/tool:1.0")
    assert md.ok("images", "--format", "{{.Repository}}:{{.Tag}}").split() == ["busybox:latest", "mine/tool:1.0"]
    assert md.ok("images", "--filter", "reference=mine/*", "--format", "{{.Repository}}:{{.Tag}}") == "mine/tool:1.0\n"
    assert md.ok("images", "mine/tool", "--format", "{{.Tag}}") == "1.0\n"
    assert md.ok("images", "--filter", "dangling=true", "-q") == ""
    assert len(md.ok("images", "-q").split()) == 2  # one image, two tags: one line per tag, as docker
    header = md.ok("images", "--format", "table {{.ID}}\t{{.Size}}").splitlines()[0]
    assert header.split("   ")[0] == "IMAGE ID"
    r = md("images", "--filter", "dangling=maybe")
    assert r.code == 1 and "Invalid filter 'dangling=[maybe]'" in r.err


def test_events_stream_without_until(md):
    md.ok("images")
    import subprocess

    from tests.integration.conftest import MYDOCKER

    watcher = subprocess.Popen([MYDOCKER, "--root", str(md.root), "events", "-f", "type=container",
                                "--format", "{{.Action}}"], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        assert watcher.poll() is None  # still streaming: no --until
        md.ok("create", "--name", "evs", "--network", "none", "busybox", "true")
        os.set_blocking(watcher.stdout.fileno(), False)
        deadline = time.monotonic() + 10
        line = ""
        while not line and time.monotonic() < deadline:
            line = watcher.stdout.readline()
            time.sleep(0.05)
        assert line == "create\n"
    finally:
        watcher.kill()
        watcher.wait()
    md.ok("rm", "evs")


def test_network_ls_filters_and_alias_in_inspect(md):
    from tests.integration.conftest import free_subnet

    md.ok("network", "create", "--subnet", free_subnet(), "flagnet")
    assert md.ok("network", "ls", "--filter", "name=flag", "--format", "{{.Name}} {{.Driver}} {{.Scope}}") == \
        "flagnet bridge local\n"
    assert md.ok("network", "ls", "-f", "type=custom", "-f", "dangling=true", "--format", "{{.Name}}") == "flagnet\n"
    assert md.ok("network", "ls").splitlines()[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    md.ok("create", "--name", "al", "--network", "flagnet", "--network-alias", "cache", "busybox", "true")
    info = md.inspect("al")
    assert info["NetworkSettings"]["Networks"]["flagnet"]["Aliases"] == [info["Id"][:12], "cache"]
    assert md.ok("ps", "-a", "--filter", "network=flagnet", "--format", "{{.Names}} {{.Networks}}") == "al flagnet\n"
    md.ok("rm", "al")
    md.ok("network", "rm", "flagnet")


def test_containers_on_a_user_network_resolve_names_and_aliases(md):
    from tests.integration.conftest import free_subnet

    md.ok("network", "create", "--subnet", free_subnet(), "dnsnet")
    md.ok("run", "-d", "--name", "alpha", "--network", "dnsnet", "--network-alias", "db", "busybox", "sleep", "60")
    md.ok("run", "-d", "--name", "beta", "--network", "dnsnet", "busybox", "sleep", "60")
    alpha_ip = md.inspect("alpha")["NetworkSettings"]["Networks"]["dnsnet"]["IPAddress"]
    beta_ip = md.inspect("beta")["NetworkSettings"]["Networks"]["dnsnet"]["IPAddress"]
    # the running alpha learns of beta, which started after it
    assert md.ok("exec", "alpha", "ping", "-c", "1", "-W", "2", "beta").count(f"({beta_ip})") == 1
    for name in ("alpha", "db"):
        assert f"({alpha_ip})" in md.ok("exec", "beta", "ping", "-c", "1", "-W", "2", name)
    md.ok("rm", "-f", "beta")
    r = md("exec", "alpha", "ping", "-c", "1", "-W", "1", "beta")
    assert r.code != 0 and "bad address" in r.err  # a removed container's name stops resolving
    md.ok("rm", "-f", "alpha")
    md.ok("network", "rm", "dnsnet")


def test_default_bridge_does_not_resolve_names(md):
    md.ok("run", "-d", "--name", "solo", "busybox", "sleep", "60")
    md.ok("run", "-d", "--name", "other", "busybox", "sleep", "60")
    assert md("exec", "other", "ping", "-c", "1", "-W", "1", "solo").code != 0
    md.ok("rm", "-f", "solo", "other")


def test_sizes_in_ps_and_inspect(md):
    md.ok("run", "--name", "sz", "--network", "none", "busybox", "sh", "-c", "printf 12345 > /f")
    assert md.ok("ps", "-a", "-s", "--format", "{{.Size}}").startswith("5B (virtual ")
    assert md.ok("ps", "-a", "-s").splitlines()[0].split()[-1] == "SIZE"
    size_rw, size_root = md.ok("inspect", "-s", "-f", "{{.SizeRw}} {{.SizeRootFs}}", "sz").split()
    image_size = json.loads(md.ok("inspect", "busybox"))[0]["Size"]
    assert (int(size_rw), int(size_root)) == (5, 5 + image_size)
    md.ok("rm", "sz")
