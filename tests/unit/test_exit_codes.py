"""cli/errors.py: the one table from a service's typed error to docker's exit code."""

from __future__ import annotations

import pytest
from mydocker.cli.errors import exit_code
from mydocker.statemachine import errors, ipam
from mydocker.statemachine.errors import (
    Conflict,
    CreateFailed,
    ExecFailed,
    IllegalTransition,
    InvalidArgument,
    NoSuchContainer,
    NotFound,
    UserError,
)
from mydocker.statemachine.lookup import Ambiguous


@pytest.mark.parametrize(("error", "command", "code"), [
    (InvalidArgument("invalid reference format: A"), "tag", 125),  # a bad value, whichever command took it
    (CreateFailed("default network: no pool"), "start", 125),
    (NoSuchContainer("x"), "stop", 1),
    (NotFound("network n not found"), "rm", 1),
    (Conflict("Bind for 0.0.0.0:80 failed: port is already allocated"), "start", 1),
    (IllegalTransition("Container x is not running"), "kill", 1),
    (UserError("anything else"), "ps", 1),
    (Ambiguous("Multiple IDs found with provided prefix: ab"), "rm", 1),  # the daemon's refusal, not a flag's
    # docker: run and create exit 125 whatever refused them
    (NotFound("Unable to find image 'x:latest' locally"), "run", 125),
    (Conflict('Conflict. The container name "/a" is already in use'), "create", 125),
    # network's commands are daemon requests: 1, even for ipam's invalid subnet
    (InvalidArgument("invalid subnet 10.0.0.0/33: not an IPv4 CIDR"), "network", 1),
    # exec's command could not run: its status (126, 127) is exec's
    (ExecFailed("OCI runtime exec failed: not found", 127), "exec", 127),
    (ExecFailed("OCI runtime exec failed: permission denied", 126), "exec", 126),
])
def test_exit_code(error: UserError, command: str, code: int) -> None:
    assert exit_code(error, command) == code


def test_ipam_raises_a_type_not_a_code_and_network_create_no_longer_rewraps_it() -> None:
    with pytest.raises(InvalidArgument) as info:
        ipam.parse_subnet("10.0.0.0/33")
    assert exit_code(info.value, "run") == 125 and exit_code(info.value, "network") == 1


def test_no_exit_code_lives_in_the_statemachine_errors() -> None:
    for name in dir(errors):
        kind = getattr(errors, name)
        if isinstance(kind, type) and issubclass(kind, Exception):
            assert not hasattr(kind, "exit_code"), name
