"""--log-opt and the json-file writer's rotation (docker 20.10's words and sizes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mydocker.core.logs import LogWriter, parse_lines, rotated_paths
from mydocker.statemachine.log_options import LogOptionError, from_human_size, validate, writer_options


@pytest.mark.parametrize(("text", "size"), [("10k", 10_000), ("1m", 1_000_000), ("512", 512), ("1.5k", 1500),
                                            ("2KB", 2000)])
def test_max_size_is_decimal_as_docker_reads_it(text: str, size: int) -> None:
    assert from_human_size(text) == size


@pytest.mark.parametrize(("driver", "options", "message"), [  # run side by side with docker 20.10
    ("json-file", {"max-size": "abc"}, "failed to initialize logging driver: invalid size: 'abc'"),
    ("json-file", {"max-size": ""}, "failed to initialize logging driver: invalid size: ''"),
    ("json-file", {"max-size": "1k", "max-file": "0"}, "failed to initialize logging driver: max-file cannot be "
                                                       "less than 1"),
    ("json-file", {"max-size": "1k", "max-file": "x"}, 'failed to initialize logging driver: strconv.Atoi: '
                                                       'parsing "x": invalid syntax'),
    ("json-file", {"foo": "bar"}, "unknown log opt 'foo' for json-file log driver"),
    ("bogus", {}, 'error looking up logging plugin bogus: plugin "bogus" not found'),
    ("none", {"max-size": "1k"}, "invalid logging opts for driver none"),
])
def test_refused_with_docker_words(driver: str, options: dict[str, str], message: str) -> None:
    with pytest.raises(LogOptionError) as info:
        validate(driver, options)
    assert str(info.value) == message


def test_max_file_alone_is_accepted_as_docker_does() -> None:
    assert validate("json-file", {"max-file": "3"}) == {"Type": "json-file", "Config": {"max-file": "3"}}
    assert writer_options({"Type": "json-file", "Config": {"max-file": "3"}})["max_size"] == 0


def lines_of(path: Path) -> list[str]:
    out = []
    for name in rotated_paths(str(path)):
        with open(name) as f:
            out += [r["log"] for r in parse_lines(iter(f.readline, ""))]
    return out


def test_rotation_keeps_max_file_files_each_filled_past_max_size_as_docker(tmp_path: Path) -> None:
    log = tmp_path / "container.log"
    writer = LogWriter(log, max_size=1000, max_file=3)
    for i in range(100):
        writer.write("stdout", f"line-{i}-xxxxxxxxxxxxxxxxxxxxxxxx\n".encode())
    writer.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["container.log", "container.log.1", "container.log.2"]
    sizes = [p.stat().st_size for p in tmp_path.iterdir()]
    assert all(1000 <= s < 1200 for s in sizes), sizes  # docker: rotate once a file has reached max-size
    kept = lines_of(log)
    assert kept == [f"line-{i}-xxxxxxxxxxxxxxxxxxxxxxxx\n" for i in range(100 - len(kept), 100)]
    assert rotated_paths(str(log)) == [str(log) + ".2", str(log) + ".1", str(log)]


def test_a_new_writer_goes_on_from_the_files_size(tmp_path: Path) -> None:
    """A restarted container's monitor appends and rotates where the last stopped."""
    log = tmp_path / "container.log"
    for _ in range(2):
        writer = LogWriter(log, max_size=200, max_file=2)
        for i in range(3):
            writer.write("stderr", f"{i}{'y' * 40}\n".encode())
        writer.close()
    assert (tmp_path / "container.log.1").exists()
    assert all(json.loads(line)["stream"] == "stderr" for line in log.read_text().splitlines())


def test_the_none_driver_keeps_nothing(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path / "container.log", driver="none")
    writer.write("stdout", b"hello\n")
    writer.close()
    assert list(tmp_path.iterdir()) == []
