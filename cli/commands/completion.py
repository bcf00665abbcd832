"""mydocker completion bash|zsh: the shell completion script, generated from the
commands' own parsers, so every flag a parser knows is completed and none it
does not. Names of containers, images, networks and volumes are asked of
mydocker when the user presses TAB (with the --root typed on the line, if any).

    source <(mydocker completion bash)      # or save it under /etc/bash_completion.d/
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import shlex
import sys

from mydocker.cli.parsing import Parser
from mydocker.statemachine.context import Context

# Which names a command's arguments are: the first argument, then the rest.
CONTAINER_COMMANDS = ("start", "stop", "kill", "rm", "restart", "pause", "unpause", "logs", "inspect", "wait",
                      "exec", "attach", "top", "port", "diff", "rename", "update", "stats", "export", "commit",
                      "cp", "container_history")
IMAGE_COMMANDS = ("run", "create", "rmi", "tag", "save", "push", "history", "pull")
SUBCOMMAND_KINDS = {"network": "network", "volume": "volume"}
# flags whose value is a name of something mydocker has
FLAG_VALUES = {"--network": "network", "--net": "network", "--volumes-from": "container", "-v": "volume",
               "--volume": "volume"}


def parser() -> Parser:
    p = Parser("completion", "Output shell completion code for bash or zsh")
    p.add_argument("shell", choices=("bash", "zsh"), metavar="SHELL", help="bash or zsh")
    return p


def _flags(p: argparse.ArgumentParser) -> list[str]:
    return sorted({s for a in p._actions for s in a.option_strings if s.startswith("--") or len(s) == 2})


def _value_flags(p: argparse.ArgumentParser) -> list[str]:
    return sorted({s for a in p._actions for s in a.option_strings if a.nargs != 0})


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands a parser knows: its subparsers, or the choices of a first
    positional that names the action (system check|prune|...), which take its flags."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
        if not action.option_strings and action.dest == "action" and action.choices is not None:
            return {str(choice): p for choice in action.choices}
    return {}


def tree() -> dict[str, dict[str, object]]:
    """'command' or 'group sub' -> {flags, value_flags, kind, subs} from the parsers."""
    from mydocker.cli.main import COMMANDS, GROUPS

    out: dict[str, dict[str, object]] = {}

    def add(key: str, module: str, p: argparse.ArgumentParser) -> None:
        kind = ("container" if module in CONTAINER_COMMANDS else "image" if module in IMAGE_COMMANDS else "")
        out[key] = {"flags": _flags(p), "value_flags": _value_flags(p), "kind": kind, "subs": []}

    for name in COMMANDS:
        if importlib.util.find_spec(f"mydocker.cli.commands.{name}") is None:
            p = Parser(name)  # a management group only (container, image): its subcommands below
        else:
            p = importlib.import_module(f"mydocker.cli.commands.{name}").parser()
        add(name, name, p)
        subs = _subparsers(p)
        group = GROUPS.get(name, {})
        for sub, sp in subs.items():
            add(f"{name} {sub}", name, sp)
            out[f"{name} {sub}"]["kind"] = SUBCOMMAND_KINDS.get(name, "") if sub not in ("create", "ls", "list",
                                                                                           "prune") else ""
        for sub, module in group.items():
            add(f"{name} {sub}", module, importlib.import_module(f"mydocker.cli.commands.{module}").parser())
        out[name]["subs"] = sorted({*subs, *group})
    return out


def _assoc(name: str, values: dict[str, str]) -> str:
    body = " ".join(f"[{shlex.quote(k)}]={shlex.quote(v)}" for k, v in sorted(values.items()))
    return f"declare -gA {name}=({body})\n"


BASH_FUNCTIONS = r'''
_mydocker_names() {
    local root=() i
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} == --root ]] && root=(--root "${COMP_WORDS[i+1]}")
    done
    case $1 in
        container) "${COMP_WORDS[0]}" "${root[@]}" ps -a --format '{{.Names}}' 2>/dev/null ;;
        image) "${COMP_WORDS[0]}" "${root[@]}" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null |
                   grep -v '<none>' ;;
        network) { printf '%s\n' bridge host none
                   "${COMP_WORDS[0]}" "${root[@]}" network ls --format '{{.Name}}' 2>/dev/null; } | sort -u ;;
        volume) "${COMP_WORDS[0]}" "${root[@]}" volume ls -q 2>/dev/null ;;
    esac
}

_mydocker() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd="" sub="" i word key
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ -z $cmd ]]; then
            case $word in
                --root) ((i++)) ;;
                -*) ;;
                *) cmd=$word ;;
            esac
        elif [[ -z $sub && -n ${_mydocker_subs[$cmd]} && $word != -* ]]; then
            sub=$word
        fi
    done
    if [[ -z $cmd ]]; then
        if [[ $prev == --root ]]; then
            COMPREPLY=($(compgen -d -- "$cur"))
        elif [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--root --debug --help" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_mydocker_commands" -- "$cur"))
        fi
        return
    fi
    if [[ -n ${_mydocker_subs[$cmd]} && -z $sub ]]; then
        COMPREPLY=($(compgen -W "${_mydocker_subs[$cmd]} ${_mydocker_flags[$cmd]}" -- "$cur"))
        return
    fi
    key=$cmd${sub:+ $sub}
    if [[ $prev == -* && " ${_mydocker_value_flags[$key]} " == *" $prev "* ]]; then
        local kind=${_mydocker_flag_kinds[$prev]}
        if [[ -n $kind ]]; then
            COMPREPLY=($(compgen -W "$(_mydocker_names "$kind")" -- "$cur"))
        else
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "${_mydocker_flags[$key]}" -- "$cur"))
    elif [[ -n ${_mydocker_kinds[$key]} ]]; then
        COMPREPLY=($(compgen -W "$(_mydocker_names "${_mydocker_kinds[$key]}")" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

complete -F _mydocker mydocker
'''

ZSH_PRELUDE = """# zsh runs the bash completion through bashcompinit
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
"""


def bash_script() -> str:
    from mydocker.cli.main import COMMANDS

    commands = tree()
    parts = ["# mydocker bash completion, generated by `mydocker completion bash`\n",
             f"_mydocker_commands={shlex.quote(' '.join(COMMANDS))}\n",
             _assoc("_mydocker_subs", {k: " ".join(v["subs"]) for k, v in commands.items()  # type: ignore[arg-type]
                                       if v["subs"]}),
             _assoc("_mydocker_flags", {k: " ".join(v["flags"]) for k, v in commands.items()}),  # type: ignore[arg-type]
             _assoc("_mydocker_value_flags",
                    {k: " ".join(v["value_flags"]) for k, v in commands.items()}),  # type: ignore[arg-type]
             _assoc("_mydocker_kinds", {k: str(v["kind"]) for k, v in commands.items() if v["kind"]}),
             _assoc("_mydocker_flag_kinds", FLAG_VALUES),
             BASH_FUNCTIONS]
    return "".join(parts)


def run(args: argparse.Namespace, ctx: Context) -> int:
    script = bash_script()
    sys.stdout.write(script if args.shell == "bash" else ZSH_PRELUDE + script)
    return 0
