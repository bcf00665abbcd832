"""Dockerfiles: parsed by docker's own parser, expanded as docker's shell lexer does.

The `dockerfile` package wraps moby/buildkit's Go parser, so line continuations,
comments, `# escape`, JSON (exec) form and heredocs split exactly as docker
splits them. What the parser leaves to the builder lives here: which
instructions exist, stages, and `$VAR` / `${VAR:-default}` expansion with
docker's quote removal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KNOWN = {"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
         "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
# docker expands variables in these instructions' arguments only (RUN/CMD leave it to the shell)
EXPANDED = {"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "ONBUILD"}


class DockerfileError(Exception):
    pass


@dataclass
class Instruction:
    cmd: str  # upper case
    flags: list[str]
    value: list[str]
    original: str
    line: int
    json: bool = False
    heredocs: list[tuple[str, str]] = field(default_factory=list)  # (name, content), in order
    literal: bool = False  # made by the builder (build --label): nothing in it is expanded

    def flag(self, name: str) -> str | None:
        for item in self.flags:
            key, _, value = item.partition("=")
            if key == f"--{name}":
                return value
        return None


@dataclass
class Stage:
    base: str
    name: str | None
    platform: str | None
    instructions: list[Instruction]  # FROM first
    index: int


def parse(text: str) -> list[Instruction]:
    import dockerfile

    try:
        commands = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        raise DockerfileError(f"dockerfile parse error {exc}".replace("\n", " ")) from None
    out = []
    for c in commands:
        cmd = c.cmd.upper()
        if cmd not in KNOWN:
            raise DockerfileError(f"dockerfile parse error line {c.start_line}: unknown instruction: {c.cmd.upper()}")
        out.append(Instruction(cmd, list(c.flags), list(c.value), c.original, c.start_line, c.json,
                               [(h.name, h.content) for h in c.heredocs]))
    if not out:
        raise DockerfileError("the Dockerfile cannot be empty")
    return out


def stages(instructions: list[Instruction]) -> tuple[list[Instruction], list[Stage]]:
    """(ARGs before the first FROM, stages)."""
    meta: list[Instruction] = []
    result: list[Stage] = []
    for ins in instructions:
        if ins.cmd == "FROM":
            words = ins.value
            name = None
            if len(words) == 3 and words[1].upper() == "AS":
                name = words[2].lower()
            elif len(words) != 1:
                raise DockerfileError(f"dockerfile parse error line {ins.line}: FROM requires either one or "
                                      "three arguments")
            result.append(Stage(words[0], name, ins.flag("platform"), [ins], len(result)))
        elif not result:
            if ins.cmd != "ARG":
                raise DockerfileError("no build stage in current context" if ins.cmd != "FROM" else "")
            meta.append(ins)
        else:
            result[-1].instructions.append(ins)
    if not result:
        raise DockerfileError("no build stage in current context")
    return meta, result


_HEREDOC = re.compile(r"""^<<(-?)\s*(["']?)([^"'\s]+)\2$""")


@dataclass
class HeredocWord:
    name: str
    chomp: bool  # <<-: leading tabs are stripped from every line
    expand: bool  # an unquoted name: $VAR in the content is expanded


def heredoc_word(word: str) -> HeredocWord | None:
    """`<<EOF`, `<<-EOF`, `<<"EOF"` as a whole word (buildkit's ParseHeredoc), else None."""
    m = _HEREDOC.match(word)
    return HeredocWord(m.group(3), m.group(1) == "-", not m.group(2)) if m else None


def heredoc_content(content: str, word: HeredocWord, env: dict[str, str], escape: str = "\\") -> str:
    """A heredoc's text as buildkit hands it on: chomped, and with variables
    expanded when its name was not quoted (quotes in it stay: raw quotes)."""
    if word.chomp:
        content = "".join(line.lstrip("\t") for line in content.splitlines(keepends=True))
    if not word.expand:
        return content
    out: list[str] = []
    i = 0
    while i < len(content):
        ch = content[i]
        if ch == escape and i + 1 < len(content) and content[i + 1] == "$":
            out.append("$")
            i += 2
        elif ch == "$":
            value, i = _variable(content, i + 1, env, escape)
            out.append(value)
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _lookup(name: str, env: dict[str, str]) -> str | None:
    return env.get(name)


def expand(word: str, env: dict[str, str], escape: str = "\\") -> str:
    """One word through docker's shell lexer: quotes removed, escapes applied,
    $VAR ${VAR} ${VAR:-default} ${VAR:+alternative} substituted."""
    out: list[str] = []
    i = 0
    n = len(word)
    quote = ""
    while i < n:
        ch = word[i]
        if ch == escape and quote != "'":
            if i + 1 < n:
                nxt = word[i + 1]
                if quote == '"' and nxt not in ('"', "$", escape):
                    out.append(ch)  # inside double quotes only these are escapable
                out.append(nxt)
                i += 2
            else:
                out.append(ch)
                i += 1
            continue
        if ch in "'\"" and (not quote or quote == ch):
            quote = "" if quote else ch
            i += 1
            continue
        if ch == "$" and quote != "'":
            value, i = _variable(word, i + 1, env, escape)
            out.append(value)
            continue
        out.append(ch)
        i += 1
    if quote:
        raise DockerfileError(f"unexpected end of statement while looking for matching {quote}: {word}")
    return "".join(out)


def _variable(word: str, i: int, env: dict[str, str], escape: str) -> tuple[str, int]:
    n = len(word)
    if i < n and word[i] == "{":
        end = word.find("}", i)
        if end < 0:
            raise DockerfileError(f"missing '}}' in {word}")
        body = word[i + 1:end]
        name, op, arg = body, "", ""
        for candidate in (":-", ":+", "-", "+"):
            if candidate in body:
                name, _, arg = body.partition(candidate)
                op = candidate
                break
        value = _lookup(name, env)
        if op in (":-", "-"):
            if value is None or (op == ":-" and value == ""):
                value = expand(arg, env, escape)
        elif op in (":+", "+"):
            value = expand(arg, env, escape) if (value is not None and (op == "+" or value != "")) else ""
        return value or "", end + 1
    start = i
    while i < n and (word[i].isalnum() or word[i] == "_"):
        i += 1
    if i == start:
        return "$", i
    return _lookup(word[start:i], env) or "", i


def escape_of(text: str) -> str:
    """The `# escape=` parser directive, if any (only before the first instruction)."""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        key, eq, value = stripped[1:].partition("=")
        if not eq:
            break
        if key.strip().lower() == "escape" and value.strip() in ("\\", "`"):
            return value.strip()
    return "\\"


def pairs(ins: Instruction, env: dict[str, str], escape: str) -> list[tuple[str, str]]:
    """ENV/LABEL/ARG key=value pairs (the parser gives them flat: k, v, k, v)."""
    words = ins.value
    if ins.cmd == "ARG":
        out = []
        for w in words:
            key, eq, value = w.partition("=")
            out.append((key, expand(value, env, escape) if eq else "\0"))  # "\0": no default
        return out
    if len(words) % 2:
        raise DockerfileError(f"dockerfile parse error line {ins.line}: {ins.cmd} names can not be blank")
    if ins.literal:
        return [(words[k], words[k + 1]) for k in range(0, len(words), 2)]
    return [(expand(words[k], env, escape), expand(words[k + 1], env, escape)) for k in range(0, len(words), 2)]
