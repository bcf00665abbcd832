"""The values users type (sizes, CPUs, signals, timeouts), --format templates,
ps's table layout and docker's human durations."""

from __future__ import annotations

import os
import signal

import pytest
from mydocker.cli.humanize import created_at, human_duration, since
from mydocker.cli.parsing import (
    UsageError,
    parse_cpus,
    parse_cpuset,
    parse_int,
    parse_memory,
    parse_signal,
    parse_size,
    parse_timeout,
)
from mydocker.cli.template import table

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
NCPU = os.cpu_count() or 1


# --- sizes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("1048576", MIB),
        ("512k", 512 * KIB),
        ("512K", 512 * KIB),
        ("32m", 32 * MIB),
        ("32M", 32 * MIB),
        ("32mb", 32 * MIB),
        ("32MiB", 32 * MIB),
        ("1g", GIB),
        ("1gb", GIB),
        ("1.5g", GIB + GIB // 2),
        ("2t", 2 << 40),
        ("1p", 1 << 50),
        (" 64m ", 64 * MIB),
        ("100b", 100),
    ],
)
def test_parse_size_good(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", " ", "m", "abc", "-1", "-32m", "32x", "1e3", "32 m b", "0x10", "1,5g", "1..5m",
                                  "32mm", ".5m"])
def test_parse_size_bad(text: str) -> None:
    with pytest.raises(UsageError, match=r"invalid size"):
        parse_size(text)


def test_memory_zero_means_no_limit_as_docker() -> None:
    assert parse_memory("0") is None
    assert parse_memory("0m") is None


def test_parse_size_huge_number_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        parse_size("9" * 400)


def test_parse_memory_minimum_is_6mb() -> None:
    assert parse_memory("6m") == 6 * MIB
    assert parse_memory("1g") == GIB
    for text in ("5m", "6291455", "1", "4k"):
        with pytest.raises(UsageError, match="Minimum memory limit allowed is 6MB"):
            parse_memory(text)
    with pytest.raises(UsageError, match="invalid size"):
        parse_memory("lots")


# --- CPUs -------------------------------------------------------------------------


def test_parse_cpus_good() -> None:
    assert parse_cpus("0.5") == 0.5
    assert parse_cpus("0.01") == 0.01
    assert parse_cpus(str(NCPU)) == NCPU
    assert parse_cpus("1") == 1.0


@pytest.mark.parametrize("text", ["0", "0.001", "-1", str(NCPU + 1), "nan", "inf", "-inf"])
def test_parse_cpus_out_of_range(text: str) -> None:
    with pytest.raises(UsageError, match=r"range of CPUs is from 0\.01 to"):
        parse_cpus(text)


@pytest.mark.parametrize("text", ["", "one", "1,5", "1.5.5", "50%"])
def test_parse_cpus_not_a_number(text: str) -> None:
    with pytest.raises(UsageError, match="must be a number"):
        parse_cpus(text)


def test_parse_cpuset_good() -> None:
    assert parse_cpuset("0") == "0"
    assert parse_cpuset(f"0-{NCPU - 1}") == f"0-{NCPU - 1}"
    assert parse_cpuset(",".join(str(i) for i in range(NCPU))) == ",".join(str(i) for i in range(NCPU))


@pytest.mark.parametrize("text", ["", "a", "0-", "-1", "0,", ",0", "0 1", "0;1", "1-0-2", "0--1"])
def test_parse_cpuset_malformed(text: str) -> None:
    with pytest.raises(UsageError, match="invalid value"):
        parse_cpuset(text)


@pytest.mark.parametrize("text", [str(NCPU), f"0-{NCPU}", "1-0", f"0,{NCPU + 5}"])
def test_parse_cpuset_unavailable_or_reversed(text: str) -> None:
    with pytest.raises(UsageError, match="Requested CPUs are not available"):
        parse_cpuset(text)


def test_parse_cpuset_refuses_trailing_newline() -> None:
    with pytest.raises(UsageError):
        parse_cpuset("0\n")


def test_parse_int_bounds() -> None:
    shares = parse_int("--cpu-shares", 2, 262144)
    assert shares("2") == 2 and shares("262144") == 262144
    for bad, words in (("1", "out of range"), ("262145", "out of range"), ("x", "not an integer"),
                       ("1.5", "not an integer")):
        with pytest.raises(UsageError, match=rf"--cpu-shares: {words}"):
            shares(bad)
    assert parse_int("--pids-limit", -1)("-1") == -1


# --- signals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9", signal.SIGKILL),
        ("KILL", signal.SIGKILL),
        ("SIGKILL", signal.SIGKILL),
        ("sigkill", signal.SIGKILL),
        ("kill", signal.SIGKILL),
        ("term", signal.SIGTERM),
        ("SIGHUP", signal.SIGHUP),
        ("usr1", signal.SIGUSR1),
        ("15", signal.SIGTERM),
        (" 15 ", signal.SIGTERM),
        (str(int(signal.SIGRTMAX)), int(signal.SIGRTMAX)),
    ],
)
def test_parse_signal_good(text: str, expected: int) -> None:
    assert parse_signal(text) == int(expected)
    assert type(parse_signal(text)) is int


@pytest.mark.parametrize("text", ["", "0", "-9", "NOPE", "SIG", "SIGKILLX", str(int(signal.SIGRTMAX) + 1), "9.0",
                                  "K ILL", "SIG_DFL"])
def test_parse_signal_bad(text: str) -> None:
    with pytest.raises(UsageError, match="Invalid signal"):
        parse_signal(text)


def test_parse_signal_superscript_digit_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        parse_signal("²")


# --- timeouts ---------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [("0", 0.0), ("10", 10.0), ("2.5", 2.5)])
def test_parse_timeout_good(text: str, expected: float) -> None:
    assert parse_timeout(text) == expected


def test_parse_timeout_negative_waits_forever() -> None:
    assert parse_timeout("-1") >= 1e9


@pytest.mark.parametrize("text", ["", "ten", "10s", "1,5"])
def test_parse_timeout_bad(text: str) -> None:
    with pytest.raises(UsageError, match="--time: not a number"):
        parse_timeout(text)


def test_parse_timeout_nan_is_refused() -> None:
    with pytest.raises(UsageError):
        parse_timeout("nan")


# --- tables (Go's tabwriter with minwidth 10, padding 3) -----------------------------------


def test_table_pads_to_widest_plus_three_with_minimum_ten() -> None:
    rows = [["CONTAINER ID", "IMAGE", "NAMES"], ["abc", "busybox:latest", "web"], ["d", "x", "a-much-longer-name"]]
    out = table(rows)
    assert out == (
        "CONTAINER ID   IMAGE            NAMES\n"
        "abc            busybox:latest   web\n"
        "d              x                a-much-longer-name\n"
    )
    lines = out.splitlines()
    # column 1: widest cell 12 + 3 = 15; column 2: 14 + 3 = 17; the last column is not padded
    assert [line.index(line.split()[-1]) for line in lines] == [15 + 17] * 3
    assert not any(line.endswith(" ") for line in lines)


def test_table_minimum_width_is_ten() -> None:
    assert table([["A", "B"], ["c", "d"]]) == "A         B\nc         d\n"
    assert table([["1234567", "x"]]) == "1234567   x\n"  # 7 + 3 = 10
    assert table([["12345678", "x"]]) == "12345678   x\n"  # 8 + 3 = 11


def test_table_single_column_and_empty() -> None:
    assert table([["ID"], ["abcdef012345"]]) == "ID\nabcdef012345\n"
    assert table([]) == ""


def test_table_counts_characters_not_bytes() -> None:
    out = table([["COMMAND", "NAMES"], ['"sleep…"', "x"]])
    first, second = out.splitlines()
    assert first.index("NAMES") == second.index("x") == 11


# --- durations (docker/go-units HumanDuration) ------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "Less than a second"),
        (0.5, "Less than a second"),
        (0.999, "Less than a second"),
        (1, "1 second"),
        (1.9, "1 second"),
        (2, "2 seconds"),
        (59, "59 seconds"),
        (59.9, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (59 * 60, "59 minutes"),
        (3599, "59 minutes"),
        (3600, "About an hour"),
        (5399, "About an hour"),
        (5400, "2 hours"),
        (7200, "2 hours"),
        (47 * 3600, "47 hours"),
        (48 * 3600, "2 days"),
        (13 * 86400, "13 days"),
        (14 * 86400, "2 weeks"),
        (59 * 86400, "8 weeks"),
        (60 * 86400, "2 months"),
        (729 * 86400, "24 months"),
        (730 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


@pytest.mark.parametrize(("seconds", "expected"), [(9000, "3 hours"), (4.5 * 3600, "5 hours")])
def test_human_duration_rounds_half_hours_up_like_go(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected


def test_since_and_created_at() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 0, 1, 0, tzinfo=UTC)
    assert since("2026-01-01T00:00:00.000000Z", now) == 60.0
    assert since("2026-01-01T00:02:00.000000Z", now) == 0.0  # clock skew: never negative
    assert created_at("2026-01-02T03:04:05.678901Z") == "2026-01-02 03:04:05 +0000 UTC"


@pytest.mark.parametrize(("word", "message"), [
    ("--bogus", "unknown flag: --bogus"),
    ("--bogus=1", "unknown flag: --bogus"),
    ("-z", "unknown shorthand flag: 'z' in -z"),
])
def test_unknown_arguments_in_dockers_words(word: str, message: str) -> None:
    from mydocker.cli.parsing import Parser

    p = Parser("ps")
    p.add_argument("-a", action="store_true")
    with pytest.raises(UsageError) as caught:
        p.parse_args(["-a", word])
    assert str(caught.value) == message


def test_extra_arguments_exit_1_as_docker() -> None:
    from mydocker.cli.parsing import Parser

    with pytest.raises(UsageError) as caught:
        Parser("ps").parse_args(["extra"])
    assert str(caught.value) == '"mydocker ps" accepts no arguments. See \'mydocker ps --help\'.'
    assert caught.value.exit_code == 1


# docker 20.10's words and exit code (1) for a missing or extra argument, per command
ARGUMENT_COUNTS = [
    ("rm", [], '"mydocker rm" requires at least 1 argument.'),
    ("logs", ["a", "b"], '"mydocker logs" requires exactly 1 argument.'),
    ("exec", ["a"], '"mydocker exec" requires at least 2 arguments.'),
    ("port", ["a", "b", "c"], '"mydocker port" requires at least 1 and at most 2 arguments.'),
    ("commit", [], '"mydocker commit" requires at least 1 and at most 2 arguments.'),
    ("tag", ["a"], '"mydocker tag" requires exactly 2 arguments.'),
    ("rename", ["a", "b", "c"], '"mydocker rename" requires exactly 2 arguments.'),
    ("cp", ["a"], '"mydocker cp" requires exactly 2 arguments.'),
    ("images", ["a", "b"], '"mydocker images" requires at most 1 argument.'),
    ("container_prune", ["x"], '"mydocker container prune" accepts no arguments.'),
]


@pytest.mark.parametrize("module, argv, words", ARGUMENT_COUNTS)
def test_argument_counts_in_dockers_words(module: str, argv: list[str], words: str) -> None:
    import importlib

    parser = importlib.import_module(f"mydocker.cli.commands.{module}").parser()
    with pytest.raises(UsageError) as caught:
        parser.parse_args(argv)
    assert str(caught.value).startswith(words + " See 'mydocker ")
    assert caught.value.exit_code == 1


def test_every_counted_command_has_a_parser_that_counts() -> None:
    """Each entry of ARITY names a command whose parser refuses a missing argument."""
    import importlib

    from mydocker.cli import parsing

    for command, (low, high) in parsing.ARITY.items():
        group, _, sub = command.partition(" ")
        module = {"image rm": "rmi", "image inspect": "inspect"}.get(command)
        if module is None:
            module = f"{group}_{sub}" if sub and group in ("container", "image", "volume", "network", "system") \
                and sub in ("prune", "df") else group
        parser = importlib.import_module(f"mydocker.cli.commands.{module}").parser()
        argv = [sub] if sub and module == group else []
        if low == 0:
            argv += ["x"] * ((high or 0) + 1)
        with pytest.raises(UsageError) as caught:
            parser.parse_args(argv)
        if "invalid choice" in str(caught.value):
            continue  # a subcommand another branch adds (network connect)
        assert caught.value.exit_code == 1, command


def test_group_commands_quote_what_was_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    from mydocker.cli import parsing
    from mydocker.cli.commands import rm

    monkeypatch.setattr(parsing, "invoked_as", "container rm")
    with pytest.raises(UsageError) as caught:
        rm.parser().parse_args([])
    assert str(caught.value).startswith('"mydocker container rm" requires at least 1 argument.')
