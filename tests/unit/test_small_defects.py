"""Issue 15's smaller defects that need no kernel: syscall numbers per
architecture, docker's -v spec errors, HOME from passwd, subcommand usage lines."""

from __future__ import annotations

import glob
import re

import pytest
from mydocker.core import syscalls
from mydocker.core.users import with_home
from mydocker.statemachine.volumes import parse


def test_pivot_root_number_per_architecture() -> None:
    assert syscalls.syscall_number("pivot_root", "x86_64") == 155
    assert syscalls.syscall_number("pivot_root", "aarch64") == 41


def test_unknown_architecture_is_refused_with_its_name() -> None:
    with pytest.raises(OSError, match="no syscall number known for architecture 'mips64'"):
        syscalls.syscall_number("pivot_root", "mips64")


def test_this_host_agrees_with_its_kernel_headers() -> None:
    import os

    headers = {"x86_64": "/usr/include/*/asm/unistd_64.h", "aarch64": "/usr/include/asm-generic/unistd.h"}
    machine = os.uname().machine
    found = glob.glob(headers.get(machine, "/nonexistent"))
    if not found:
        pytest.skip(f"no kernel headers for {machine}")
    number = re.search(r"#define __NR_pivot_root (\d+)", open(found[0]).read())
    assert number is not None
    assert syscalls.syscall_number("pivot_root") == int(number.group(1))


@pytest.mark.parametrize("spec", [":/x", "/a::/b", "/a:/b:", "::"])
def test_empty_section_between_colons_is_refused_in_dockers_words(spec: str) -> None:
    with pytest.raises(ValueError) as info:
        parse(spec)
    assert str(info.value) == f"invalid spec: {spec}: empty section between colons"


def test_empty_volume_spec() -> None:
    with pytest.raises(ValueError, match="invalid empty volume spec"):
        parse("")


PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\nnohome:x:7:7::::\n"


@pytest.mark.parametrize("uid, home", [(0, "/root"), (65534, "/home"), (4242, "/"), (7, "/")])
def test_home_is_the_uids_passwd_entry_or_slash(tmp_path, uid: int, home: str) -> None:
    (tmp_path / "passwd").write_text(PASSWD)
    assert with_home({"PATH": "/bin"}, uid, str(tmp_path)) == {"PATH": "/bin", "HOME": home}


def test_home_set_by_the_user_wins(tmp_path) -> None:
    (tmp_path / "passwd").write_text(PASSWD)
    assert with_home({"HOME": "/x"}, 0, str(tmp_path))["HOME"] == "/x"


def test_no_passwd_file_means_slash(tmp_path) -> None:
    assert with_home({}, 0, str(tmp_path))["HOME"] == "/"


@pytest.mark.parametrize("command", ["volume", "network"])
def test_subcommand_usage_names_mydocker_once(command: str) -> None:
    import importlib

    module = importlib.import_module(f"mydocker.cli.commands.{command}")
    usage = module.parser()._subparsers._group_actions[0].choices["create"].format_help()
    assert usage.startswith(f"\nUsage:  mydocker {command} create ")
