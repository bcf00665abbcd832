"""config.json of the OCI runtime spec, field by field, without root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mydocker.cli.oci.main import Usage, parse_signal
from mydocker.core import ociseccomp, ocispec
from mydocker.core import syscalls as sc


def _config(tmp_path: Path, **changes) -> dict:
    (tmp_path / "rootfs").mkdir(exist_ok=True)
    config = {"ociVersion": "1.0.2", "root": {"path": "rootfs"},
              "process": {"args": ["sh"], "cwd": "/", "env": ["PATH=/bin"]},
              "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}}
    config.update(changes)
    return config


def test_mount_options_become_flags_propagation_and_data():
    plan = ocispec.mount_plan({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                               "options": ["nosuid", "strictatime", "mode=755", "size=65536k", "rprivate"]})
    assert plan.flags == sc.MS_NOSUID | sc.MS_STRICTATIME
    assert plan.propagation == sc.MS_PRIVATE | sc.MS_REC
    assert plan.data == "mode=755,size=65536k"
    assert not plan.bind


def test_bind_mount_by_type_or_by_option_and_rw_clears_ro():
    by_type = ocispec.mount_plan({"destination": "/x", "type": "bind", "source": "/tmp", "options": ["ro"]})
    assert by_type.bind and by_type.flags == sc.MS_BIND | sc.MS_RDONLY
    by_option = ocispec.mount_plan({"destination": "/x", "source": "/tmp", "options": ["rbind", "ro", "rw"]})
    assert by_option.bind and by_option.flags == sc.MS_BIND | sc.MS_REC


def test_mount_destination_must_be_absolute_and_typed():
    with pytest.raises(ocispec.SpecError, match="absolute"):
        ocispec.mount_plan({"destination": "x", "type": "tmpfs"})
    with pytest.raises(ocispec.SpecError, match="no type"):
        ocispec.mount_plan({"destination": "/x", "options": ["ro"]})


def test_namespaces_new_and_joined_by_path(tmp_path):
    path = tmp_path / "netns"
    path.touch()
    plan = ocispec.namespace_plan({"linux": {"namespaces": [
        {"type": "pid"}, {"type": "network", "path": str(path)}, {"type": "ipc"}, {"type": "uts"},
        {"type": "mount"}]}})
    assert plan.new_pid
    assert plan.new_flags == sc.CLONE_NEWIPC | sc.CLONE_NEWUTS | sc.CLONE_NEWNS
    assert plan.join == [("network", str(path))]
    assert plan.has("network") and plan.has("uts") and not plan.has("cgroup")


def test_namespace_join_order_puts_mount_last(tmp_path):
    paths = {}
    for kind in ("mount", "uts", "network"):
        paths[kind] = tmp_path / kind
        paths[kind].touch()
    plan = ocispec.namespace_plan({"linux": {"namespaces": [
        {"type": k, "path": str(p)} for k, p in paths.items()]}})
    assert [k for k, _ in plan.join] == ["uts", "network", "mount"]


@pytest.mark.parametrize("entry, words", [
    ({"type": "user"}, "user namespaces are not supported"),
    ({"type": "bogus"}, "unknown namespace type"),
    ({"type": "network", "path": "/nonexistent/ns"}, "no such file"),
])
def test_namespaces_refused(entry, words):
    with pytest.raises(ocispec.SpecError, match=words):
        ocispec.namespace_plan({"linux": {"namespaces": [entry]}})


def test_namespace_listed_twice_is_refused():
    with pytest.raises(ocispec.SpecError, match="twice"):
        ocispec.namespace_plan({"linux": {"namespaces": [{"type": "ipc"}, {"type": "ipc"}]}})


def test_the_five_capability_sets_unknown_ones_skipped_missing_ones_empty():
    process = {"capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN", "CAP_NOT_A_CAP"],
                                "effective": ["CAP_KILL"], "ambient": ["cap_net_raw"]}}
    assert ocispec.capability_sets(process) == {"bounding": ["CHOWN", "KILL"], "effective": ["KILL"],
                                                "permitted": [], "inheritable": [], "ambient": ["NET_RAW"]}
    assert ocispec.capability_sets({}) == {kind: [] for kind in ocispec.CAPABILITY_SETS}


def test_rlimits_by_name_with_unlimited():
    process = {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
                           {"type": "RLIMIT_CORE", "soft": 2**64 - 1, "hard": 2**64 - 1}]}
    assert ocispec.rlimits(process) == {"nofile": [1024, 4096], "core": [-1, -1]}
    with pytest.raises(ocispec.SpecError, match="unknown rlimit"):
        ocispec.rlimits({"rlimits": [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]})
    with pytest.raises(ocispec.SpecError, match="above hard"):
        ocispec.rlimits({"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 2, "hard": 1}]})


def test_resources_become_cgroup_limits():
    limits = ocispec.limits({"linux": {"resources": {
        "memory": {"limit": 67108864, "swap": 134217728}, "cpu": {"quota": 50000, "period": 100000, "shares": 512},
        "pids": {"limit": 64}}}})
    assert (limits.memory, limits.memory_swap) == (67108864, 134217728)
    assert (limits.cpu_quota, limits.cpu_period, limits.cpu_shares) == (50000, 100000, 512)
    assert limits.pids_limit == 64
    assert limits.devices is None  # no device list: the cgroup is left as it is
    assert ocispec.limits({}).memory is None


def test_devices_deny_all_then_allow_listed_and_runtime_made_nodes():
    limits = ocispec.limits({"linux": {
        "resources": {"devices": [{"allow": False, "access": "rwm"},
                                  {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rw"},
                                  {"allow": False, "type": "c", "major": 5, "minor": 1, "access": "rwm"}]},
        "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}]}})
    assert limits.devices is not None
    assert "c 10:200 rw" in limits.devices
    assert "c 10:229 rwm" in limits.devices
    assert "c 1:3 rwm" in limits.devices  # /dev/null, which the runtime always makes


def test_cgroups_path_absolute_from_the_root_relative_from_our_own():
    mounts = {"memory": Path("/sys/fs/cgroup/memory"), "pids": Path("/sys/fs/cgroup/pids")}
    own = {"memory": "/job/7", "pids": "/"}
    assert ocispec.cgroup_paths("/libpod_parent/c1", "c1", own, mounts) == {
        "memory": "/sys/fs/cgroup/memory/libpod_parent/c1", "pids": "/sys/fs/cgroup/pids/libpod_parent/c1"}
    assert ocispec.cgroup_paths("sub/c1", "c1", own, mounts) == {
        "memory": "/sys/fs/cgroup/memory/job/7/sub/c1", "pids": "/sys/fs/cgroup/pids/sub/c1"}
    assert ocispec.cgroup_paths(None, "c1", own, mounts)["pids"] == "/sys/fs/cgroup/pids/mdrunc-c1"
    with pytest.raises(ocispec.SpecError, match="systemd"):
        ocispec.cgroup_paths("system.slice:libpod:c1", "c1", own, mounts)


def test_validate_accepts_a_minimal_bundle_and_warns_about_apparmor(tmp_path):
    config = _config(tmp_path)
    assert ocispec.validate(config, str(tmp_path)) == []
    config["process"]["apparmorProfile"] = "docker-default"
    assert any("apparmor" in w for w in ocispec.validate(config, str(tmp_path)))


@pytest.mark.parametrize("change, words", [
    ({"ociVersion": "0.9"}, "ociVersion"),
    ({"process": {"args": [], "cwd": "/"}}, "process.args"),
    ({"process": {"args": ["sh"], "cwd": "relative"}}, "cwd"),
    ({"root": {"path": "missing"}}, "not a directory"),
    ({"linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}}, "mappings"),
    ({"linux": {"rootfsPropagation": "sideways"}}, "rootfsPropagation"),
    ({"linux": {"sysctl": {"../../etc/passwd": "x"}}}, "sysctl"),
    ({"hooks": {"prestart": [{"path": "relative/hook"}]}}, "hook path"),
])
def test_validate_refuses(tmp_path, change, words):
    with pytest.raises(ocispec.SpecError, match=words):
        ocispec.validate(_config(tmp_path, **change), str(tmp_path))


def test_load_reports_a_missing_or_broken_config(tmp_path):
    with pytest.raises(ocispec.SpecError, match="not found"):
        ocispec.load(str(tmp_path))
    (tmp_path / "config.json").write_text("{broken")
    with pytest.raises(ocispec.SpecError, match="cannot read"):
        ocispec.load(str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"ociVersion": "1.0.2"}))
    assert ocispec.load(str(tmp_path))["ociVersion"] == "1.0.2"


def test_state_has_the_fields_the_spec_requires():
    state = ocispec.state("c1", "created", 42, "/b", {"a": "b"})
    assert state == {"ociVersion": ocispec.OCI_VERSION, "id": "c1", "status": "created", "pid": 42,
                     "bundle": "/b", "annotations": {"a": "b"}}


def test_seccomp_profile_compiles_actions_args_and_arches():
    profile = ociseccomp.compile_rules({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38, "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
                     {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
                     {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]})
    assert profile.default == ("SCMP_ACT_ERRNO", 38)
    assert profile.arches == ["X86_64"]
    assert [(r.name, r.action) for r in profile.rules] == [
        ("read", ("SCMP_ACT_ALLOW", 1)), ("write", ("SCMP_ACT_ALLOW", 1)),
        ("personality", ("SCMP_ACT_ALLOW", 1)), ("mkdir", ("SCMP_ACT_ERRNO", 13))]
    assert profile.rules[2].args == [(0, "SCMP_CMP_EQ", 8, 0)]


@pytest.mark.parametrize("profile, words", [
    ({"defaultAction": "SCMP_ACT_BOGUS"}, "unknown action"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]}, "architecture"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]},
     "operator"),
    ({"defaultAction": "SCMP_ACT_NOTIFY"}, "not supported"),
])
def test_seccomp_profile_refused(profile, words):
    with pytest.raises(ocispec.SpecError, match=words):
        ociseccomp.compile_rules(profile)


def test_signals_by_name_number_or_short_name():
    assert parse_signal("SIGKILL") == 9
    assert parse_signal("term") == 15
    assert parse_signal("9") == 9
    for bad in ("SIGBOGUS", "0", "999"):
        with pytest.raises(Usage):
            parse_signal(bad)
