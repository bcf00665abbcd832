"""The Dockerfile parser wrapper, docker's word expansion and .dockerignore matching."""

from __future__ import annotations

import pytest
from mydocker.core import dockerfile, dockerignore


def test_parse_continuations_comments_and_escape_directive():
    text = "# escape=`\n# a comment\nFROM busybox AS b\nRUN echo a `\n  b\nCOPY --from=b --chown=1:2 x* /y/\n"
    assert dockerfile.escape_of(text) == "`"
    run, copy = dockerfile.parse(text)[1:]
    assert run.cmd == "RUN" and run.value == ["echo a   b"] and run.line == 4
    assert copy.flag("from") == "b" and copy.flag("chown") == "1:2" and copy.value == ["x*", "/y/"]


def test_unknown_instruction_and_syntax_errors_name_the_line():
    with pytest.raises(dockerfile.DockerfileError, match="line 3: unknown instruction: BOGUS"):
        dockerfile.parse("FROM a\nRUN x\nbogus y\n")
    with pytest.raises(dockerfile.DockerfileError, match="no build stage"):
        dockerfile.stages(dockerfile.parse("RUN x\n"))


def test_stages_keep_meta_args_and_names():
    meta, stages = dockerfile.stages(dockerfile.parse("ARG B=busybox\nFROM $B AS Build\nRUN x\nFROM build\n"))
    assert [m.cmd for m in meta] == ["ARG"]
    assert [(s.base, s.name, len(s.instructions)) for s in stages] == [("$B", "build", 2), ("build", None, 1)]


@pytest.mark.parametrize("word,expected", [
    ("$A", "1"), ("${A}x", "1x"), ("${NOPE:-def}", "def"), ("${A:+alt}", "alt"), ("${NOPE:+alt}", ""),
    ("'$A'", "$A"), ('"$A b"', "1 b"), ("\\$A", "$A"), ("a\\ b", "a b"), ("$", "$"), ("${EMPTY:-e}", "e"),
    ("${EMPTY-e}", ""),
])
def test_expand_as_docker_shell_lexer(word, expected):
    assert dockerfile.expand(word, {"A": "1", "EMPTY": ""}) == expected


def test_env_pairs_remove_quotes():
    (ins,) = dockerfile.parse('ENV A="x y" B=${A}\n')
    assert dockerfile.pairs(ins, {}, "\\") == [("A", "x y"), ("B", "")]


@pytest.mark.parametrize("patterns,path,excluded", [
    ("*.md", "a.md", True),
    ("*.md", "sub/a.md", False),  # filepath.Match: * does not cross a slash
    ("**/*.md", "sub/deep/a.md", True),
    ("*.md\n!keep.md", "keep.md", False),
    ("logs", "logs/x/y.txt", True),  # a matched parent excludes what is below it
    ("/abs/../x", "x", True),
    ("# only a comment", "x", False),
    ("file?.txt", "file1.txt", True),
    ("[a-c].txt", "b.txt", True),
    ("[!a-c].txt", "b.txt", False),
])
def test_dockerignore(patterns, path, excluded):
    assert dockerignore.excluded(dockerignore.read(patterns), path) is excluded


def test_hostile_dockerignore_patterns_are_errors():
    with pytest.raises(dockerignore.PatternError):
        dockerignore.read("[\n")
    with pytest.raises(dockerignore.PatternError):
        dockerignore.read("!\n")
