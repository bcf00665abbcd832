""".dockerignore as docker reads it: one pattern a line, `#` comments, `!` exceptions,
the last matching pattern decides; Go's filepath.Match syntax plus `**`; a path is
excluded when it or one of its parent directories matches."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


class PatternError(Exception):
    pass


@dataclass
class Pattern:
    text: str
    regex: re.Pattern[str]
    exclusion: bool  # a `!` line: brings matching paths back


def read(text: str) -> list[Pattern]:
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        if not line:
            raise PatternError("illegal exclusion pattern: \"!\"")
        line = os.path.normpath(line).lstrip("/") or "."
        out.append(Pattern(line, compile_glob(line), exclusion))
    return out


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Go filepath.Match on a slash path, with docker's `**` (any number of dirs)."""
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):  # `**/` matches zero or more directories
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0 or end == i + 1:
                raise PatternError(f"syntax error in pattern: {pattern}")
            body = pattern[i + 1:end]
            if body.startswith("^"):
                body = "!" + body[1:]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end
        elif ch == "\\":
            if i + 1 >= n:
                raise PatternError(f"syntax error in pattern: {pattern}")
            out.append(re.escape(pattern[i + 1]))
            i += 1
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    try:
        return re.compile("".join(out))
    except re.error:
        raise PatternError(f"syntax error in pattern: {pattern}") from None


def excluded(patterns: list[Pattern], rel: str) -> bool:
    """rel: a slash path relative to the context, without a leading slash."""
    parents = []
    parts = rel.split("/")
    for k in range(1, len(parts)):
        parents.append("/".join(parts[:k]))
    matched = False
    for p in patterns:
        hit = bool(p.regex.match(rel)) or any(p.regex.match(parent) for parent in parents)
        if hit:
            matched = not p.exclusion
    return matched
