"""Go's text/template as docker's --format uses it; expected outputs are what
docker 20.10 printed for the same templates on this machine."""

from __future__ import annotations

import pytest
from mydocker.cli.template import (
    Struct,
    TemplateError,
    format_list,
    print_objects,
    render,
    sprintf,
    strict,
    unescape,
)

INSPECT = strict({
    "Id": "abc",
    "Name": "/web",
    "State": {"Pid": 42, "Running": True, "Status": "running", "Error": "", "Health": None},
    "Config": {"Env": ["A=1", "B=2"], "Labels": {"k": "v", "com.example.x": "y"}, "Cmd": None,
               "ExposedPorts": {"80/tcp": {}}},
    "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2", "Aliases": None},
                                     "back": {"IPAddress": "10.0.0.3", "Aliases": ["db"]}}},
    "Mounts": [{"Type": "volume", "Name": "data", "Source": "/v/data", "Destination": "/data"},
               {"Type": "bind", "Name": "", "Source": "/srv", "Destination": "/srv"}],
})


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("{{.Id}}", "abc"),
        ("{{.State.Pid}}", "42"),
        ("pid={{ .State.Pid }} name={{.Name}}", "pid=42 name=/web"),
        ("{{.State.Running}}", "true"),
        ("{{.Config.Cmd}}", "<nil>"),
        ("{{.State.Health}}", "<nil>"),
        ("{{json .Config.Env}}", '["A=1","B=2"]'),
        ("{{json .State}}", '{"Pid":42,"Running":true,"Status":"running","Error":"","Health":null}'),
        ("{{json .Config.Labels}}", '{"com.example.x":"y","k":"v"}'),  # Go sorts map keys
        ("{{json .Config.Cmd}}", "null"),
        ("{{upper .State.Status}}", "RUNNING"),
        ("{{title .State.Status}}", "Running"),
        ('{{index .Config.Labels "k"}}', "v"),
        ('[{{index .Config.Labels "missing"}}]', "[]"),  # the zero string, as docker prints it
        ("{{.Config.Labels.missing}}", "<no value>"),
        ('{{index .Config.Labels "com.example.x"}}', "y"),
        ('{{join .Config.Env ","}}', "A=1,B=2"),
        ("{{.Config.Env}}", "[A=1 B=2]"),
        ("{{.Config.Labels}}", "map[com.example.x:y k:v]"),
        ("{{.Config.ExposedPorts}}", "map[80/tcp:map[]]"),
        ("{{len .Config.Labels}}", "2"),
        ("no actions", "no actions"),
        ("{{.Id}}\\t{{.Name}}", "abc\\t/web"),  # inspect does not unescape, as docker
        # docker's docs: `docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'`
        ("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", "10.0.0.3 172.17.0.2 "),
        ("{{range $name, $net := .NetworkSettings.Networks}}{{$name}}={{$net.IPAddress}};{{end}}",
         "back=10.0.0.3;bridge=172.17.0.2;"),
        # docker's docs: list the mounts
        ("{{range .Mounts}}{{.Type}}:{{.Source}}->{{.Destination}} {{end}}",
         "volume:/v/data->/data bind:/srv->/srv "),
        ('{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}{{end}}{{end}}', "data"),
        ("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}", "0:A=1 1:B=2 "),
        ("{{range .Config.Cmd}}x{{else}}empty{{end}}", "empty"),
        ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
        ("{{if not .State.Running}}up{{else if .State.Pid}}pid{{else}}down{{end}}", "pid"),
        ("{{if and .State.Running (eq .State.Pid 42)}}yes{{end}}", "yes"),
        ("{{if or .State.Error .Name}}{{.Name}}{{end}}", "/web"),
        ("{{with .State}}{{.Status}}/{{$.Name}}{{end}}", "running//web"),
        ("{{with .State.Error}}err{{else}}fine{{end}}", "fine"),
        ('{{$n := .Name}}{{range .Config.Env}}{{$n}}:{{.}} {{end}}', "/web:A=1 /web:B=2 "),
        ('{{split "a:b:c" ":"}}', "[a b c]"),
        ('{{index (split "a:b:c" ":") 1}}', "b"),
        ('{{join (split .Name "/") "+"}}', "+web"),
        ('{{printf "%s has pid %d" .Name .State.Pid}}', "/web has pid 42"),
        ('{{printf "%-6s|%5.2f|%q|%x|%v" "ab" 3.14159 "hi" 255 .Config.Labels}}',
         'ab    | 3.14|"hi"|ff|map[com.example.x:y k:v]'),
        ("{{.Name | upper}}", "/WEB"),
        ("{{.State.Status | printf \"%s!\"}}", "running!"),
        ("{{lower (upper .Name)}}", "/web"),
        ('{{pad "x" 2 1}}|{{truncate "abcdef" 3}}', "  x |abc"),
        ("{{- /* a comment */ -}}  {{.Id}}", "abc"),
        ("a  {{- .Id -}}  b", "aabcb"),
        ("{{println .Id}}", "abc\n"),
        ("{{print 1 2 \"x\" 3}}", "1 2x3"),
        ('{{if lt .State.Pid 100}}small{{end}}', "small"),
        ('{{if ne .State.Status "exited"}}alive{{end}}', "alive"),
        ("{{len .Mounts}} {{(index .Mounts 1).Source}}", "2 /srv"),
        ("{{index .NetworkSettings.Networks \"back\" \"Aliases\" 0}}", "db"),
    ],
)
def test_render(fmt: str, expected: str) -> None:
    assert render(fmt, INSPECT) == expected


def test_unescape_then_render() -> None:
    assert render(unescape("{{.Id}}\\t{{.Name}}\\n"), INSPECT) == "abc\t/web\n"


@pytest.mark.parametrize(
    ("fmt", "words"),
    [
        ("{{.Nope}}", 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"'),
        ("{{.State.Nope}}", 'map has no entry for key "Nope"'),
        ("{{.State.Pid.Deeper}}", "can't evaluate field Deeper in type int"),
        ("{{nosuch .Id}}", 'template: :1: function "nosuch" not defined'),
        ("{{json .Nope}}", 'map has no entry for key "Nope"'),
        ("{{}}", "missing value for command"),
        ("{{.Id .Name}}", "Id is not a method but has arguments"),
        ('{{index .Config.Labels "k}}', "unterminated quoted string"),
        ("{{.Id", "template: :1: unclosed action"),
        ("{{if .Id}}x", "template: :1: unexpected EOF"),
        ("x{{end}}", "unexpected {{end}}"),
        ("{{range .Id}}{{end}}\n{{index .Config.Env 5}}", "template: :2:2: executing"),
        ("{{upper .State.Pid}}", "error calling upper"),
        ("{{$x}}", "undefined variable: $x"),
    ],
)
def test_errors_are_template_errors_with_gos_words(fmt: str, words: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(fmt, INSPECT)
    assert words in str(caught.value)
    assert caught.value.exit_code == 1


def test_struct_missing_field_names_the_type_like_docker_ps() -> None:
    row = Struct(ID="abc")
    row.go_type = "*formatter.ContainerContext"
    with pytest.raises(TemplateError, match=r"can't evaluate field Foo in type \*formatter.ContainerContext"):
        render("{{.Foo}}", row)


def test_methods_take_arguments_like_label() -> None:
    labels = {"com.example.vendor": "acme"}
    row = Struct(Label=lambda k: labels.get(k, ""), Names="web")
    assert render('{{.Label "com.example.vendor"}}/{{.Label "none"}}/{{.Names}}', row) == "acme//web"


@pytest.mark.parametrize(
    ("fmt", "args", "expected"),
    [
        ("%d%%", (5,), "5%"),
        ("%05d", (42,), "00042"),
        ("%s %s", ("a",), "a %!s(MISSING)"),
        ("%t", (True,), "true"),
        ("%v", ([1, 2],), "[1 2]"),
        ("%8.3f|", (2.5,), "   2.500|"),
        ("%-4d|", (7,), "7   |"),
        ("%v", (0.1,), "0.1"),
        ("%v", (1e21,), "1e+21"),
    ],
)
def test_sprintf_follows_go(fmt: str, args: tuple[object, ...], expected: str) -> None:
    assert sprintf(fmt, *args) == expected


def test_table_format_renders_headers_with_the_same_template() -> None:
    rows = [Struct(ID="abc", Names="web", Label=lambda k: {"a": "b"}.get(k, "")),
            Struct(ID="defghi", Names="db", Label=lambda k: "")]
    headers = {"ID": "CONTAINER ID", "Names": "NAMES", "Label": None}
    out = format_list('table {{.ID}}\\t{{.Label "a"}}\\t{{.Names}}', rows, "", headers)
    # docker 20.10: the header of .Label "a" is "a"; tabwriter pads widest+3, minimum 10
    assert out == ("CONTAINER ID   a         NAMES\n"
                   "abc            b         web\n"
                   "defghi                   db\n")


def test_list_errors_carry_dockers_prefixes() -> None:
    with pytest.raises(TemplateError, match=r'^failed to parse template: template: :1: function "foo" not defined'):
        format_list("{{foo .ID}}", [Struct(ID="a")], "", {})
    with pytest.raises(TemplateError, match=r"^failed to execute template: template: :1:2: executing"):
        format_list("{{.Foo}}", [Struct(ID="a")], "", {})


def test_inspect_errors_are_worded_and_coded_as_docker(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(TemplateError, match=r'^template parsing error: .*map has no entry for key "Foo"') as caught:
        print_objects([{"Id": "a"}, {"Id": "b"}], "{{.Foo}}")
    assert caught.value.exit_code == 1 and capsys.readouterr().out == "\n"  # docker's empty line
    with pytest.raises(TemplateError, match=r"^template parsing error: template: :1: unclosed action$") as caught:
        print_objects([{"Id": "a"}], "{{.Foo")
    assert caught.value.exit_code == 64 and capsys.readouterr().out == ""
