"""Go's text/template as docker users write it in --format: a lexer, a parser to a
tree of nodes and an evaluator, with Go's printing rules and docker's functions.

Supported: text and {{actions}} with {{- -}} trimming and {{/* comments */}};
pipelines with `|`, parenthesised sub-pipelines, `$` and `$x := ...` variables;
if / else if / else, range (with `$i, $v :=`), with, end; Go's builtins (and, or,
not, len, index, slice, print, printf, println, eq, ne, lt, le, gt, ge, html, js,
urlquery, call) and docker's (json, split, join, title, lower, upper, pad, truncate).

Data is plain Python: a dict is a Go map (a missing key is `<no value>`), unless
it is a Struct (a missing field is an error, as on docker's formatter contexts);
a callable value is a method (`.Label "k"`)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

from mydocker.cli.errors import CliError


class TemplateError(CliError):
    """A template that does not parse or cannot run: exit 1, as docker."""

    def __init__(self, message: str, stage: str) -> None:
        super().__init__(message)
        self.stage = stage  # "parse" or "execute": docker words the two differently

    def worded(self, parse: str, execute: str) -> TemplateError:
        return TemplateError(f"{parse if self.stage == 'parse' else execute}: {self}", self.stage)


class GoMap(dict):  # type: ignore[type-arg]
    """A map in Go's sense; kept for callers that mark a dict explicitly (every
    plain dict is treated as one)."""


class Struct(dict):  # type: ignore[type-arg]
    """A Go struct: fields in order, a missing one is an error naming `go_type`."""

    go_type = "struct"


class StrictMap(dict):  # type: ignore[type-arg]
    """inspect's objects: docker retries a failed template on the raw JSON with
    missingkey=error, so an unknown key there is an error too."""


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


NO_VALUE = _NoValue()


def unescape(fmt: str) -> str:
    return fmt.replace("\\t", "\t").replace("\\n", "\n")


# ---------------------------------------------------------------- lexing

class _Tok:
    # The parse nodes are plain classes, not dataclasses: `images` and `inspect` would
    # pay ~10 ms to import dataclasses (inspect, dis, ast) before printing anything.
    __slots__ = ("kind", "value", "pos")

    def __init__(self, kind: str, value: Any, pos: int) -> None:
        self.kind = kind  # field, var, ident, str, num, bool, nil, dot, lparen, rparen, pipe, decl, assign, comma
        self.value = value
        self.pos = pos


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<decl>:=)
  | (?P<assign>=)
  | (?P<comma>,)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<num>[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)
  | (?P<field>(?:\.[A-Za-z0-9_]+)+)
  | (?P<dot>\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)


def _go_string(text: str) -> str:
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = text[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
        except UnicodeDecodeError:
            raise ValueError(text) from None
    return str(value)


def _number(text: str) -> int | float:
    clean = text.replace("_", "")
    try:
        return int(clean, 0)
    except ValueError:
        return float(clean)


def _lex_action(body: str, offset: int) -> list[_Tok]:
    tokens, pos = [], 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m:
            raise _ParseFailure(offset + pos, f"bad character {body[pos]!r}")
        kind, text = m.lastgroup or "", m.group()
        at = offset + pos
        pos = m.end()
        if kind == "space":
            continue
        if kind in ("str", "raw", "char"):
            if kind == "raw":
                value: Any = text[1:-1]
            else:
                try:
                    value = _go_string('"' + text[1:-1] + '"') if kind == "char" else _go_string(text)
                except ValueError:
                    raise _ParseFailure(at, f"bad string {text}") from None
                if kind == "char":
                    value = ord(value) if len(value) == 1 else value
                    kind = "num" if isinstance(value, int) else "str"
            tokens.append(_Tok("str" if kind in ("str", "raw") else kind, value, at))
        elif kind == "num":
            tokens.append(_Tok("num", _number(text), at))
        elif kind == "ident" and text in ("true", "false"):
            tokens.append(_Tok("bool", text == "true", at))
        elif kind == "ident" and text == "nil":
            tokens.append(_Tok("nil", None, at))
        else:
            tokens.append(_Tok(kind, text, at))
    return tokens


# ---------------------------------------------------------------- the tree

class _Operand:
    __slots__ = ("kind", "pos", "value", "chain")

    def __init__(self, kind: str, pos: int, value: Any = None, chain: list[str] | None = None) -> None:
        self.kind = kind  # field, var, dot, lit, ident, pipe
        self.pos = pos
        self.value = value
        self.chain = [] if chain is None else chain


class _Command:
    __slots__ = ("args", "pos")

    def __init__(self, args: list[_Operand], pos: int) -> None:
        self.args = args
        self.pos = pos


class _Pipe:
    __slots__ = ("decl", "commands", "pos", "assign")

    def __init__(self, decl: list[str], commands: list[_Command], pos: int, assign: bool = False) -> None:
        self.decl = decl
        self.commands = commands
        self.pos = pos
        self.assign = assign


class _Text:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Action:
    __slots__ = ("pipe",)

    def __init__(self, pipe: _Pipe) -> None:
        self.pipe = pipe


class _Branch:
    __slots__ = ("kind", "pipe", "body", "other")

    def __init__(self, kind: str, pipe: _Pipe, body: list[Any], other: list[Any] | None) -> None:
        self.kind = kind  # if, range, with
        self.pipe = pipe
        self.body = body
        self.other = other


class _ParseFailure(Exception):
    def __init__(self, pos: int, message: str) -> None:
        super().__init__(message)
        self.pos = pos


_ACTION_OPEN = re.compile(r"{{(- )?")
_KEYWORDS = ("if", "range", "with", "else", "end", "define", "template", "block", "break", "continue")


class _Parser:
    def __init__(self, source: str, funcs: dict[str, Callable[..., Any]]) -> None:
        self.source = source
        self.funcs = funcs
        self.items = self._split(source)
        self.index = 0

    def line(self, pos: int) -> int:
        return self.source.count("\n", 0, pos) + 1

    def _split(self, src: str) -> list[tuple[str, Any, int]]:
        """Text pieces and action bodies, with Go's trim markers applied."""
        items: list[tuple[str, Any, int]] = []
        pos = 0
        while True:
            m = _ACTION_OPEN.search(src, pos)
            if not m:
                items.append(("text", src[pos:], pos))
                return items
            text = src[pos:m.start()]
            if m.group(1):
                text = text.rstrip(" \t\r\n")
            items.append(("text", text, pos))
            body_start = m.end()
            if src.startswith("/*", body_start):
                close = src.find("*/", body_start)
                if close < 0:
                    raise _ParseFailure(body_start, "unclosed comment")
                end = src.find("}}", close)
                if end < 0 or src[close + 2:end].strip("- "):
                    raise _ParseFailure(body_start, "comment ends before closing delimiter")
                trim_after = src[close + 2:end] == " -"
                pos = end + 2
            else:
                end = self._find_close(src, body_start)
                trim_after = src[end - 2:end] == " -" and end - 2 >= body_start
                body = src[body_start:end - 2] if trim_after else src[body_start:end]
                items.append(("action", body, body_start))
                pos = end + 2
            if trim_after:
                while pos < len(src) and src[pos] in " \t\r\n":
                    pos += 1

    @staticmethod
    def _find_close(src: str, start: int) -> int:
        """The `}}` closing the action at start, skipping over quoted strings."""
        i = start
        while i < len(src):
            c = src[i]
            if c in "\"'`":
                j = i + 1
                while j < len(src) and src[j] != c:
                    if src[j] == "\n" and c != "`":
                        raise _ParseFailure(i, "unterminated quoted string")
                    j += 2 if src[j] == "\\" and c != "`" else 1
                if j >= len(src):
                    raise _ParseFailure(i, "unterminated quoted string")
                i = j + 1
            elif src.startswith("}}", i):
                return i
            else:
                i += 1
        raise _ParseFailure(start, "unclosed action")

    def parse(self) -> list[Any]:
        nodes, stop = self._list()
        if stop is not None:
            raise _ParseFailure(stop[1], f"unexpected {{{{{stop[0]}}}}}")
        return nodes

    def _list(self) -> tuple[list[Any], tuple[str, int, list[_Tok]] | None]:
        """Nodes until {{end}} / {{else}}, returned as the stop marker."""
        nodes: list[Any] = []
        while self.index < len(self.items):
            kind, value, pos = self.items[self.index]
            self.index += 1
            if kind == "text":
                if value:
                    nodes.append(_Text(value))
                continue
            tokens = _lex_action(value, pos)
            if not tokens:
                raise _ParseFailure(pos, "missing value for command")
            head = tokens[0]
            word = head.value if head.kind == "ident" else None
            if word in ("end", "else"):
                return nodes, (word, head.pos, tokens[1:])
            if word in ("if", "range", "with"):
                nodes.append(self._branch(word, tokens[1:], head.pos))
            elif word in _KEYWORDS:
                raise _ParseFailure(head.pos, f"{{{{{word}}}}} is not supported")
            else:
                nodes.append(_Action(self._pipe(tokens, pos, allow_decl=True)))
        return nodes, None

    def _branch(self, word: str, tokens: list[_Tok], pos: int) -> _Branch:
        if not tokens:
            raise _ParseFailure(pos, f"missing value for {word}")
        pipe = self._pipe(tokens, pos, allow_decl=True, allow_two=word == "range")
        body, stop = self._list()
        if stop is None:
            raise _ParseFailure(len(self.source), "unexpected EOF")
        other: list[Any] | None = None
        if stop[0] == "else":
            rest = stop[2]
            if rest and rest[0].kind == "ident" and rest[0].value in ("if", "with") and word != "range":
                # {{else if ...}} is {{else}}{{if ...}}...{{end}} sharing the one {{end}}
                nested = self._else_chain(rest[0].value, rest[1:], rest[0].pos)
                other = [nested]
            else:
                if rest:
                    raise _ParseFailure(stop[1], "unexpected token after else")
                other, stop2 = self._list()
                if stop2 is None or stop2[0] != "end":
                    raise _ParseFailure(len(self.source) if stop2 is None else stop2[1],
                                        "unexpected EOF" if stop2 is None else "expected end; found {{else}}")
        elif stop[2]:
            raise _ParseFailure(stop[1], "unexpected token after end")
        return _Branch(word, pipe, body, other)

    def _else_chain(self, word: str, tokens: list[_Tok], pos: int) -> _Branch:
        return self._branch(word, tokens, pos)

    def _pipe(self, tokens: list[_Tok], pos: int, allow_decl: bool = False, allow_two: bool = False) -> _Pipe:
        decl: list[str] = []
        assign = False
        for n in (3, 1) if allow_two else (1,):
            if allow_decl and len(tokens) > n and tokens[n].kind in ("decl", "assign") and all(
                    t.kind == "var" for t in tokens[:n:2]) and (n == 1 or tokens[1].kind == "comma"):
                decl = [t.value for t in tokens[:n:2]]
                assign = tokens[n].kind == "assign"
                tokens = tokens[n + 1:]
                break
        commands: list[_Command] = []
        current: list[_Operand] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.kind == "pipe":
                if not current:
                    raise _ParseFailure(tok.pos, "missing command")
                commands.append(_Command(current, current[0].pos))
                current = []
                i += 1
                continue
            operand, i = self._operand(tokens, i)
            current.append(operand)
        if not current:
            raise _ParseFailure(tokens[-1].pos if tokens else pos, "missing value for command")
        commands.append(_Command(current, current[0].pos))
        for command in commands:
            first = command.args[0]
            if first.kind == "ident" and first.value not in self.funcs:
                raise _ParseFailure(first.pos, f'function "{first.value}" not defined')
        return _Pipe(decl, commands, pos, assign)

    def _operand(self, tokens: list[_Tok], i: int) -> tuple[_Operand, int]:
        tok = tokens[i]
        if tok.kind == "lparen":
            depth, j = 1, i + 1
            while j < len(tokens) and depth:
                depth += {"lparen": 1, "rparen": -1}.get(tokens[j].kind, 0)
                j += 1
            if depth:
                raise _ParseFailure(tok.pos, "unclosed left paren")
            inner = self._pipe(tokens[i + 1:j - 1], tok.pos)
            operand = _Operand("pipe", tok.pos, inner)
            if j < len(tokens) and tokens[j].kind == "field" and tokens[j].pos == tokens[j - 1].pos + 1:
                operand.chain = tokens[j].value.split(".")[1:]
                j += 1
            return operand, j
        if tok.kind == "field":
            return _Operand("field", tok.pos, chain=tok.value.split(".")[1:]), i + 1
        if tok.kind == "var":
            name, *chain = tok.value.split(".")
            return _Operand("var", tok.pos, name, chain), i + 1
        if tok.kind == "dot":
            return _Operand("dot", tok.pos), i + 1
        if tok.kind in ("str", "num", "bool", "nil"):
            return _Operand("lit", tok.pos, tok.value), i + 1
        if tok.kind == "ident":
            return _Operand("ident", tok.pos, tok.value), i + 1
        raise _ParseFailure(tok.pos, f"unexpected {tok.value!r} in command")


# ---------------------------------------------------------------- evaluation

class _ExecFailure(Exception):
    def __init__(self, pos: int, at: str, message: str) -> None:
        super().__init__(message)
        self.pos, self.at = pos, at


def truth(value: Any) -> bool:
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, (bool, int, float, str, list, tuple, dict)):
        return bool(value)
    return True


def text(value: Any) -> str:
    """fmt's %v."""
    if value is NO_VALUE:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, Struct):
        return "{" + " ".join(_inner(v) for v in value.values()) + "}"
    if isinstance(value, dict):
        pairs = sorted(value.items(), key=lambda kv: str(kv[0]))
        return "map[" + " ".join(f"{_inner(k)}:{_inner(v)}" for k, v in pairs) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(_inner(v) for v in value) + "]"
    return str(value)


def _inner(value: Any) -> str:
    return "<nil>" if value is None or value is NO_VALUE else text(value)


def _go_float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    out = repr(value)
    if "e" in out:
        mantissa, exp = out.split("e")
        sign = "-" if exp.startswith("-") else "+"
        out = f"{mantissa}e{sign}{abs(int(exp)):02d}"
    return out


def _go_json(value: Any) -> str:
    """encoding/json: compact, struct fields in order, map keys sorted."""
    return json.dumps(_json_ready(value), separators=(",", ":"), ensure_ascii=False)


def _json_ready(value: Any) -> Any:
    if value is NO_VALUE:
        return None
    if isinstance(value, (Struct, StrictMap)):
        out = {}
        for k, v in value.items():
            if callable(v):  # a method: its value if it takes no arguments, else not a field
                try:
                    v = v()
                except TypeError:
                    continue
            out[k] = _json_ready(v)
        return out
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if callable(value):
        return None
    return value


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def sprintf(fmt: str, *args: Any) -> str:
    """fmt.Sprintf for the verbs templates use."""
    out: list[str] = []
    values = list(args)
    pos = 0
    used = 0

    def take() -> Any:
        nonlocal used
        if used >= len(values):
            used += 1
            return _MISSING
        used += 1
        return values[used - 1]

    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, precision, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        if width == "*":
            width = str(take())
        if precision == "*":
            precision = str(take())
        value = take()
        if value is _MISSING:
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_pad(_verb(verb, value, precision, flags), width, flags))
    out.append(fmt[pos:])
    if used < len(values):
        out.append("%!(EXTRA " + ", ".join(f"{type(v).__name__}={text(v)}" for v in values[used:]) + ")")
    return "".join(out)


_MISSING = object()


def _verb(verb: str, value: Any, precision: str | None, flags: str) -> str:
    if verb in "vs":
        shown = text(value)
        return shown[:int(precision)] if precision is not None and verb == "s" else shown
    if verb == "q":
        return json.dumps(text(value), ensure_ascii=False) if not isinstance(value, int) else repr(chr(value))
    if verb == "t" and isinstance(value, bool):
        return text(value)
    if verb in "dxXobc" and isinstance(value, int) and not isinstance(value, bool):
        if verb == "c":
            return chr(value)
        spec = {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb]
        return format(value, ("+" if "+" in flags else "") + spec)
    if verb in "xX" and isinstance(value, str):
        return value.encode().hex() if verb == "x" else value.encode().hex().upper()
    if verb in "feEgG" and isinstance(value, (int, float)) and not isinstance(value, bool):
        prec = "" if precision is None else f".{precision}"
        if verb in "gG" and precision is None:
            return _go_float(float(value))
        return format(float(value), ("+" if "+" in flags else "") + prec + verb)
    return f"%!{verb}({type(value).__name__}={text(value)})"


def _pad(shown: str, width: str | None, flags: str) -> str:
    if not width:
        return shown
    n = int(width)
    if "-" in flags:
        return shown.ljust(n)
    if "0" in flags and shown.lstrip("+-").replace(".", "").isdigit():
        sign = shown[0] if shown[0] in "+-" else ""
        return sign + shown[len(sign):].rjust(n - len(sign), "0")
    return shown.rjust(n)


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(item, dict):
            item = item.get(key, "")
        elif isinstance(item, (list, tuple, str)):
            if not isinstance(key, int) or isinstance(key, bool):
                raise ValueError(f"cannot index slice/array with type {type(key).__name__}")
            if not 0 <= key < len(item):
                raise ValueError(f"index out of range: {key}")
            item = item[key]
        elif item is None or item is NO_VALUE:
            raise ValueError("index of untyped nil")
        else:
            raise ValueError(f"can't index item of type {type(item).__name__}")
    return item


def _slice(item: Any, *bounds: int) -> Any:
    if len(bounds) > 2:
        return item[bounds[0]:bounds[1]]
    return item[slice(*bounds)] if bounds else item


def _length(item: Any) -> int:
    if item is None or item is NO_VALUE or isinstance(item, (bool, int, float)):
        raise ValueError(f"len of type {type(item).__name__}")
    return len(item)


def _compare(op: str) -> Callable[..., bool]:
    def compare(a: Any, *others: Any) -> bool:
        if op == "eq":
            if not others:
                raise ValueError("missing argument for comparison")
            return any(_basic(a) == _basic(b) for b in others)
        if len(others) != 1:
            raise ValueError(f"wrong number of args for {op}: want 2 got {len(others) + 1}")
        b = others[0]
        a, b = _basic(a), _basic(b)
        if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
            raise ValueError("incompatible types for comparison")
        return {"ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
    return compare


def _basic(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        raise ValueError("non-comparable type")
    return value


def _go_print(*args: Any) -> str:
    out = ""
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += text(arg)
    return out


def _title(s: str) -> str:
    return re.sub(r"(^|[^\w'])(\w)", lambda m: m.group(1) + m.group(2).upper(), s)


def _and(*args: Any) -> Any:
    for a in args:
        if not truth(a):
            return a
    return args[-1]


def _or(*args: Any) -> Any:
    for a in args:
        if truth(a):
            return a
    return args[-1]


def _str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"wrong type for value; expected string; got {_go_type_name(value)}")
    return value


def _go_type_name(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    return "string" if isinstance(value, str) else "<nil>"


def _escape_html(s: str) -> str:
    import html  # rarely used: not on every command's start-up path

    return html.escape(s)


def _quote_url(s: str) -> str:
    import urllib.parse

    return urllib.parse.quote_plus(s)


def _join(items: Any, sep: str) -> str:
    if not isinstance(items, (list, tuple)):
        raise ValueError(f"wrong type for value; expected []string; got {_go_type_name(items)}")
    return _str("join", sep).join(text(v) for v in items)


FUNCS: dict[str, Callable[..., Any]] = {
    # Go's builtins
    "and": _and, "or": _or, "not": lambda a: not truth(a), "len": _length, "index": _index, "slice": _slice,
    "print": _go_print, "printf": lambda f, *a: sprintf(_str("printf", f), *a),
    "println": lambda *a: " ".join(text(v) for v in a) + "\n",
    "eq": _compare("eq"), "ne": _compare("ne"), "lt": _compare("lt"), "le": _compare("le"),
    "gt": _compare("gt"), "ge": _compare("ge"),
    "html": lambda *a: _escape_html(_go_print(*a)), "urlquery": lambda *a: _quote_url(_go_print(*a)),
    "js": lambda *a: json.dumps(_go_print(*a))[1:-1].replace("'", "\\'"),
    "call": lambda f, *a: f(*a),
    # docker's (templates.basicFunctions)
    "json": _go_json,
    "split": lambda s, sep: _str("split", s).split(sep) if sep else list(s),
    "join": _join,
    "title": lambda s: _title(_str("title", s)),
    "lower": lambda s: _str("lower", s).lower(),
    "upper": lambda s: _str("upper", s).upper(),
    "pad": lambda s, before, after: " " * before + _str("pad", s) + " " * after,
    "truncate": lambda s, n: _str("truncate", s)[:n] if len(s) > n else s,
}


class Template:
    def __init__(self, source: str) -> None:
        self.source = source
        try:
            self.tree = _Parser(source, FUNCS).parse()
        except _ParseFailure as exc:
            line = source.count("\n", 0, exc.pos) + 1
            raise TemplateError(f"template: :{line}: {exc}", "parse") from None
        self.flat = _flat(self.tree)

    def execute(self, data: Any) -> str:
        if self.flat is not None and type(data) is Struct:
            # text and plain {{.Field}}s over a struct (every list's default table): read
            # the fields straight, as _walk would; ps with hundreds of rows paid the walk per field
            parts: list[str] = []
            for piece in self.flat:
                if piece[0] == "text":
                    parts.append(piece[1])
                    continue
                member = data.get(piece[1], _MISSING)
                if member is _MISSING or callable(member):
                    break  # missing (an error to word) or a method: the walk's business
                parts.append(text(member))
            else:
                return "".join(parts)
        out: list[str] = []
        try:
            self._walk(self.tree, data, [("$", data)], out)
        except _ExecFailure as exc:
            before = self.source[:exc.pos]
            line, col = before.count("\n") + 1, exc.pos - (before.rfind("\n") + 1)
            raise TemplateError(f'template: :{line}:{col}: executing "" at <{exc.at}>: {exc}', "execute") from None
        return "".join(out)

    def _walk(self, nodes: list[Any], dot: Any, scope: list[tuple[str, Any]], out: list[str]) -> None:
        mark = len(scope)
        for node in nodes:
            if isinstance(node, _Text):
                out.append(node.text)
            elif isinstance(node, _Action):
                value = self._pipe(node.pipe, dot, scope)
                if not node.pipe.decl:
                    out.append(text(value))
            else:
                self._branch(node, dot, scope, out)
        del scope[mark:]

    def _branch(self, node: _Branch, dot: Any, scope: list[tuple[str, Any]], out: list[str]) -> None:
        mark = len(scope)
        value = self._pipe(node.pipe, dot, scope, declare=node.kind != "range")
        if node.kind == "range":
            items: list[tuple[Any, Any]]
            if isinstance(value, dict):
                items = sorted(value.items(), key=lambda kv: str(kv[0]))
            elif isinstance(value, (list, tuple, str)):
                items = list(enumerate(value))
            elif isinstance(value, int) and not isinstance(value, bool):
                items = [(i, i) for i in range(value)]
            elif value is None or value is NO_VALUE:
                items = []
            else:
                raise _ExecFailure(node.pipe.pos, "range", f"range can't iterate over {text(value)}")
            for key, item in items:
                inner = scope[:]
                if len(node.pipe.decl) == 1:
                    inner.append((node.pipe.decl[0], item))
                elif len(node.pipe.decl) == 2:
                    inner += [(node.pipe.decl[0], key), (node.pipe.decl[1], item)]
                self._walk(node.body, item, inner, out)
            if not items and node.other is not None:
                self._walk(node.other, dot, scope, out)
        elif truth(value):
            self._walk(node.body, value if node.kind == "with" else dot, scope, out)
        elif node.other is not None:
            self._walk(node.other, dot, scope, out)
        del scope[mark:]

    def _pipe(self, pipe: _Pipe, dot: Any, scope: list[tuple[str, Any]], declare: bool = True) -> Any:
        value: Any = _MISSING
        for command in pipe.commands:
            value = self._command(command, dot, scope, value)
        if declare and pipe.decl:
            if pipe.assign:
                for i in range(len(scope) - 1, -1, -1):
                    if scope[i][0] == pipe.decl[0]:
                        scope[i] = (pipe.decl[0], value)
                        break
                else:
                    raise _ExecFailure(pipe.pos, pipe.decl[0], f"undefined variable: {pipe.decl[0]}")
            else:
                scope.append((pipe.decl[0], value))
        return value

    def _command(self, command: _Command, dot: Any, scope: list[tuple[str, Any]], piped: Any) -> Any:
        first, rest = command.args[0], command.args[1:]
        final = [] if piped is _MISSING else [piped]
        if first.kind == "ident":
            args = [self._arg(a, dot, scope) for a in rest] + final
            try:
                return FUNCS[first.value](*args)
            except _ExecFailure:
                raise
            except (TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
                message = str(exc) if isinstance(exc, ValueError) else "wrong number or type of args"
                raise _ExecFailure(first.pos, first.value, f"error calling {first.value}: {message}") from None
        if first.kind in ("field", "var", "pipe") and (first.chain or first.kind == "var") and (rest or final):
            method_args = [self._arg(a, dot, scope) for a in rest] + final
            return self._resolve(first, dot, scope, method_args)
        if rest or final:
            raise _ExecFailure(first.pos, _show(first), f"can't give argument to non-function {_show(first)}")
        return self._arg(first, dot, scope)

    def _arg(self, operand: _Operand, dot: Any, scope: list[tuple[str, Any]]) -> Any:
        if operand.kind == "lit":
            return operand.value
        if operand.kind == "ident":
            try:
                return FUNCS[operand.value]()
            except TypeError:
                raise _ExecFailure(operand.pos, operand.value,
                                   f"wrong number of args for {operand.value}") from None
        return self._resolve(operand, dot, scope, None)

    def _resolve(self, operand: _Operand, dot: Any, scope: list[tuple[str, Any]], call_args: list[Any] | None) -> Any:
        if operand.kind == "dot":
            return dot
        if operand.kind == "var":
            for name, value in reversed(scope):
                if name == operand.value:
                    base = value
                    break
            else:
                raise _ExecFailure(operand.pos, operand.value, f"undefined variable: {operand.value}")
        elif operand.kind == "pipe":
            base = self._pipe(operand.value, dot, scope)
        else:
            base = dot
        value = base
        for i, name in enumerate(operand.chain):
            last = i == len(operand.chain) - 1
            value = self._field(value, name, operand, call_args if last else None)
        if call_args and not operand.chain:
            raise _ExecFailure(operand.pos, _show(operand), f"can't give argument to non-function {_show(operand)}")
        return value

    def _field(self, value: Any, name: str, operand: _Operand, call_args: list[Any] | None) -> Any:
        at = _show(operand)
        if isinstance(value, Struct):
            if name not in value:
                raise _ExecFailure(operand.pos, at, f"can't evaluate field {name} in type {value.go_type}")
            member = value[name]
        elif isinstance(value, StrictMap):
            if name not in value:
                raise _ExecFailure(operand.pos, at, f'map has no entry for key "{name}"')
            member = value[name]
        elif isinstance(value, dict):
            member = value.get(name, NO_VALUE)
        elif value is None:
            raise _ExecFailure(operand.pos, at, f"nil pointer evaluating interface {{}}.{name}")
        elif value is NO_VALUE:
            return NO_VALUE
        else:
            raise _ExecFailure(operand.pos, at, f"can't evaluate field {name} in type {_go_type_name(value)}")
        if callable(member):
            try:
                return member(*(call_args or []))
            except TypeError:
                raise _ExecFailure(operand.pos, at, f"wrong number of args for {name}") from None
        if call_args:
            raise _ExecFailure(operand.pos, at, f"{name} is not a method but has arguments")
        return member


def _flat(tree: list[Any]) -> list[tuple[str, str]] | None:
    """("text", s) and ("field", name) pieces when the template is nothing but text and
    {{.Name}} actions; None otherwise."""
    pieces: list[tuple[str, str]] = []
    for node in tree:
        if isinstance(node, _Text):
            pieces.append(("text", node.text))
            continue
        if not isinstance(node, _Action) or node.pipe.decl or len(node.pipe.commands) != 1:
            return None
        args = node.pipe.commands[0].args
        if len(args) != 1 or args[0].kind != "field" or len(args[0].chain) != 1:
            return None
        pieces.append(("field", args[0].chain[0]))
    return pieces


def _show(operand: _Operand) -> str:
    if operand.kind == "field":
        return "." + ".".join(operand.chain)
    if operand.kind == "var":
        return operand.value + "".join("." + c for c in operand.chain)
    if operand.kind == "dot":
        return "."
    if operand.kind == "lit":
        return json.dumps(operand.value) if isinstance(operand.value, str) else text(operand.value)
    return str(operand.value or "(pipeline)")


_CACHE: dict[str, Template] = {}


def compile_template(fmt: str) -> Template:
    if fmt not in _CACHE:
        _CACHE[fmt] = Template(fmt)
    return _CACHE[fmt]


def render(fmt: str, data: Any) -> str:
    return compile_template(fmt).execute(data)


def check(fmt: str, sample: Any = None) -> None:
    """Fail before anything is printed if the template cannot parse."""
    compile_template(fmt)


def table(rows: list[list[str]]) -> str:
    """Go's tabwriter as docker sets it up: cells padded to the widest + 3, min 10;
    the last column is not padded."""
    if not rows:
        return ""
    columns = max(len(r) for r in rows)
    widths = [0] * columns
    for r in rows:
        for i, cell in enumerate(r[:-1]):
            widths[i] = max(widths[i], len(cell))
    widths = [max(w + 3, 10) for w in widths]
    lines = []
    for r in rows:
        cells = [cell.ljust(widths[i]) if i < len(r) - 1 else cell for i, cell in enumerate(r)]
        lines.append("".join(cells).rstrip() if r and not r[-1] else "".join(cells))
    return "\n".join(lines) + "\n"


def header_label(key: str) -> str:
    """The header docker gives `.Label "com.example.some-key"`: the last dotted
    part, dashes and underscores as spaces."""
    return key.split(".")[-1].replace("-", " ").replace("_", " ")


def format_list(fmt: str | None, rows: list[Any], default: str, headers: dict[str, Any],
                quiet_field: str | None = None) -> str:
    """What every list command prints: docker's `table ...` (headers from the same
    template over `headers`), a plain template per row, or the default table."""
    try:
        return _format_list(unescape(fmt) if fmt else default, rows, default, headers, quiet_field)
    except TemplateError as exc:
        raise exc.worded("failed to parse template", "failed to execute template") from None


def _format_list(fmt: str, rows: list[Any], default: str, headers: dict[str, Any],
                 quiet_field: str | None) -> str:
    if fmt == "table":
        fmt = default
    if fmt == "json" and quiet_field is None:
        return "".join(_go_json(r) + "\n" for r in rows)
    if fmt.startswith("table"):
        body = fmt[len("table"):].strip()
        compiled = compile_template(body)
        header_data = {k: v for k, v in headers.items()}
        if "Label" in header_data and not callable(header_data["Label"]):
            header_data["Label"] = header_label
        lines = [compiled.execute(header_data)] + [compiled.execute(r) for r in rows]
        return table([line.split("\t") for line in "\n".join(lines).split("\n")])
    compiled = compile_template(fmt)
    return "".join(compiled.execute(r) + "\n" for r in rows)


# inspect fields that are Go maps (a missing key is <no value>), not structs
MAP_FIELDS = frozenset({"Labels", "Networks", "Ports", "ExposedPorts", "Volumes", "PortBindings", "Options",
                        "Attributes", "DriverOpts", "Containers", "Data", "Sysctls", "Tmpfs"})


def strict(value: Any, as_map: bool = False) -> Any:
    """inspect's JSON as docker's template sees it: structs strict, maps lenient."""
    if isinstance(value, dict):
        inner = {k: strict(v, k in MAP_FIELDS) for k, v in value.items()}
        return dict(inner) if as_map else StrictMap(inner)
    if isinstance(value, list):
        return [strict(v) for v in value]
    return value


def print_objects(found: list[Any], fmt: str | None) -> None:
    """What every inspect prints: one rendered line per object with --format,
    else docker's indented JSON array."""
    if fmt:
        try:
            compiled = compile_template(fmt)
            shown = "".join(compiled.execute(strict(item)) + "\n" for item in found)
        except TemplateError as exc:
            # docker 20.10: a template that does not parse exits 64; one that fails
            # on an object has printed that object's (empty) line first, exit 1
            error = exc.worded("template parsing error", "template parsing error")
            if exc.stage == "parse":
                error.exit_code = 64
            else:
                sys.stdout.write("\n")
            raise error from None
        sys.stdout.write(shown)
    else:
        sys.stdout.write(json.dumps(found, indent=4, ensure_ascii=False) + "\n")
