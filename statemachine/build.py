"""docker build, as docker's classic builder does it.

Every instruction makes an image whose parent is the previous step's: RUN in a
real container of this runtime (create/start/wait through the lifecycle, its
upper dir committed as a layer), COPY/ADD as a layer laid out from the context,
the rest as config changes. The cache is those images: a step is reused when an
image built on the same parent by the same instruction text (and, for COPY/ADD,
the same source checksum) exists. A failed build removes what it made.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mydocker.core import buildcontext, copyhash, dockerfile, dockerignore
from mydocker.core import images as core_images
from mydocker.statemachine import images
from mydocker.statemachine.context import Context
from mydocker.statemachine.errors import NoSuchImage, UserError
from mydocker.store.events import now_iso

DEFAULT_SHELL = ["/bin/sh", "-c"]
# docker's predefined ARGs: usable without an ARG line, left out of history
PROXY_ARGS = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
              "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}


class BuildError(UserError):
    pass


@dataclass
class BuildOptions:
    context: str | None  # None: Dockerfile from stdin, no context
    dockerfile_text: str
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str | None] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    remove: bool = True
    quiet: bool = False
    network: str = "bridge"
    labels: dict[str, str] = field(default_factory=dict)
    pull: bool = False


@dataclass
class StageState:
    image_id: str | None  # None: scratch with nothing built yet
    config: dict[str, Any]
    layers: list[str]
    size: int
    args: dict[str, str]  # declared ARGs in this stage, with their values
    cmd_set: bool = False


@dataclass
class Built:
    image_id: str
    tags: list[str]


class Builder:
    def __init__(self, ctx: Context, opts: BuildOptions, out: Callable[[str], None]) -> None:
        self.ctx = ctx
        self.opts = opts
        self.out = out
        self.escape = dockerfile.escape_of(opts.dockerfile_text)
        self.created: list[str] = []  # images this build made (removed if it fails)
        self.containers: list[str] = []
        self.flattened: dict[str, str] = {}  # image id -> a temp dir holding its merged rootfs
        self.scratch_dirs: list[str] = []
        self.used_args: set[str] = set()
        self.meta_args: dict[str, str] = {}  # ARGs before the first FROM: defaults for a stage's bare `ARG NAME`
        patterns: list[dockerignore.Pattern] = []
        if opts.context is not None:
            ignore = os.path.join(opts.context, ".dockerignore")
            if os.path.isfile(ignore) and not os.path.islink(ignore):
                try:
                    with open(ignore, encoding="utf-8", errors="replace") as f:
                        patterns = dockerignore.read(f.read())
                except dockerignore.PatternError as exc:
                    raise BuildError(f"error checking context: '{exc}'.") from None
        self.patterns = patterns
        self.context = buildcontext.Context(opts.context, patterns)

    # --- driving ------------------------------------------------------------

    def build(self) -> Built:
        try:
            return self._build()
        except BaseException:
            self._undo()
            raise
        finally:
            for path in self.scratch_dirs:
                shutil.rmtree(path, ignore_errors=True)

    def _build(self) -> Built:
        try:
            instructions = dockerfile.parse(self.opts.dockerfile_text)
            meta, stages = dockerfile.stages(instructions)
        except dockerfile.DockerfileError as exc:
            raise BuildError(str(exc)) from None
        tags = [images.check_tag(t) for t in self.opts.tags]
        meta_args = self._meta_args(meta)
        self.meta_args = meta_args
        if self.opts.target:
            index = next((s.index for s in stages if s.name == self.opts.target.lower()), None)
            if index is None:
                raise BuildError(f"failed to reach build target {self.opts.target} in Dockerfile")
            stages = stages[:index + 1]
        # docker: each --label is one more LABEL step at the end of the last stage, sorted
        stages[-1].instructions += [dockerfile.Instruction("LABEL", [], [k, v], f"LABEL {k}={v}", 0, literal=True)
                                    for k, v in sorted(self.opts.labels.items())]
        total = len(meta) + sum(len(s.instructions) for s in stages)
        step = len(meta)
        done: dict[str, StageState] = {}
        state: StageState | None = None
        for stage in stages:
            for ins in stage.instructions:
                step += 1
                self.out(f"Step {step}/{total} : {ins.original}")
                if ins.cmd == "FROM":
                    state = self._from(stage, meta_args, done)
                    self._onbuild(state, done)
                else:
                    assert state is not None
                    self._step(ins, state, done)
                if state.image_id:
                    self.out(f" ---> {short(state.image_id)}")
            assert state is not None
            done[str(stage.index)] = state
            if stage.name:
                done[stage.name] = state
        assert state is not None
        unused = sorted(k for k in self.opts.build_args if k not in self.used_args and k not in PROXY_ARGS)
        if unused:
            self.out(f"[Warning] One or more build-args {unused} were not consumed".replace("'", ""))
        if state.image_id is None:
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        self.out(f"Successfully built {short(state.image_id)}")
        if tags:
            image = images.find_by_id(self.ctx.conn, state.image_id)
            assert image is not None
            images.register(self.ctx, "build", image.id, image.config, image.layers, image.row["size"], tags)
            for t in tags:
                self.out(f"Successfully tagged {t}")
        return Built(state.image_id, tags)

    def _meta_args(self, meta: list[dockerfile.Instruction]) -> dict[str, str]:
        values: dict[str, str] = {}
        for ins in meta:
            for key, default in dockerfile.pairs(ins, values, self.escape):
                given = self.opts.build_args.get(key)
                if key in self.opts.build_args and given is not None:
                    values[key] = given
                    self.used_args.add(key)
                elif default != "\0":
                    values[key] = default
        return values

    def _undo(self) -> None:
        from mydocker.statemachine import lifecycle

        for cid in reversed(self.containers):
            try:
                lifecycle.remove(self.ctx, cid, force=True)
            except UserError:
                pass
        for image_id in reversed(self.created):
            try:
                images.remove(self.ctx, image_id, force=False, prune=False)
            except UserError:
                pass

    # --- FROM ---------------------------------------------------------------

    def _from(self, stage: dockerfile.Stage, meta_args: dict[str, str], done: dict[str, StageState]) -> StageState:
        base = dockerfile.expand(stage.base, meta_args, self.escape)
        if stage.platform:
            platform = dockerfile.expand(stage.platform, meta_args, self.escape)
            if platform.split("/")[:2] != ["linux", "amd64"]:
                raise BuildError(f"image platform {platform} is not supported: this builder runs linux/amd64 only")
        if base.lower() in done:
            prev = done[base.lower()]
            return StageState(prev.image_id, json.loads(json.dumps(prev.config)), list(prev.layers), prev.size, {})
        if base == "scratch":
            config = core_images.make_config([], now_iso(), cmd=None, env=[])
            config["config"]["Env"] = None
            config["history"] = []
            return StageState(None, config, [], 0, {})
        if self.opts.pull:
            self._pull(base)
        try:
            image = images.resolve(self.ctx, base)
        except NoSuchImage:
            self._pull(base)  # docker: a base image that is not here is pulled
            image = images.resolve(self.ctx, base)
        config = json.loads(json.dumps(image.config))
        if not config.get("history"):  # an imported image: one entry for each of its layers, as docker shows
            config["history"] = [{"created": config.get("created", ""), "created_by": "",
                                  **({"comment": config["comment"]} if config.get("comment") else {})}
                                 for _ in image.layers]
        return StageState(image.id, config, list(image.layers), image.row["size"], {})

    def _pull(self, base: str) -> None:
        """The base image from its registry, with docker's pull lines in the build's output."""
        from mydocker.statemachine import pull_uptodate

        warm = pull_uptodate.check(self.ctx, base, None)
        if warm is not None:
            ref, digest, fresh = warm.ref, warm.digest, True
        else:
            from mydocker.statemachine import pull

            ref = pull.parse_reference(base)

            def layer(short: str, status: str, _current: int | None, _total: int | None) -> None:
                if status not in ("Downloading", "Extracting", "Pushing"):
                    self.out(f"{short}: {status}")

            result = pull.pull(self.ctx, base, None, layer,
                               lambda: self.out(f"{ref.tag or ref.digest}: Pulling from {ref.path}"))
            digest, fresh = result.digest, result.up_to_date
        if warm is not None:
            self.out(f"{ref.tag or ref.digest}: Pulling from {ref.path}")
        self.out(f"Digest: {digest}")
        self.out(f"Status: {'Image is up to date for' if fresh else 'Downloaded newer image for'} {ref.familiar}")

    def _onbuild(self, state: StageState, done: dict[str, StageState]) -> None:
        triggers = state.config.get("config", {}).get("OnBuild") or []
        if not triggers:
            return
        state.config["config"]["OnBuild"] = None  # triggers fire once, in the image built FROM it
        self.out(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}")
        for text in triggers:
            try:
                (ins,) = dockerfile.parse(text)
            except (dockerfile.DockerfileError, ValueError):
                raise BuildError(f"invalid ONBUILD trigger: {text}") from None
            self._step(ins, state, done)

    # --- one instruction ----------------------------------------------------

    def _env(self, state: StageState) -> dict[str, str]:
        env = dict(state.args)
        for item in state.config.get("config", {}).get("Env") or []:
            key, _, value = item.partition("=")
            env[key] = value
        return env

    def _words(self, ins: dockerfile.Instruction, state: StageState) -> list[str]:
        env = self._env(state)
        return [dockerfile.expand(w, env, self.escape) for w in ins.value]

    def _shell(self, state: StageState) -> list[str]:
        return list(state.config.get("config", {}).get("Shell") or DEFAULT_SHELL)

    def _step(self, ins: dockerfile.Instruction, state: StageState, done: dict[str, StageState]) -> None:
        handler = getattr(self, f"_do_{ins.cmd.lower()}")
        handler(ins, state, done)

    def _nop(self, state: StageState, text: str, change: Callable[[dict[str, Any]], None]) -> None:
        created_by = f"{' '.join(self._shell(state))} #(nop)  {text}"
        if self._cached(state, created_by):
            return
        config = json.loads(json.dumps(state.config))
        config.setdefault("config", {})
        change(config["config"])
        cid = self._config_container(state, created_by)
        self._commit(state, config, created_by, None, empty=True)
        self._config_container_done(state, cid)

    def _config_container(self, state: StageState, created_by: str) -> str | None:
        """The container docker's classic builder makes for a step that changes only
        the config (its Cmd the step's `#(nop)` text): created, never started,
        committed, then removed unless --rm=false. None on scratch: nothing to run it from."""
        from mydocker.statemachine import lifecycle

        if state.image_id is None:
            return None
        shell = self._shell(state)
        options = lifecycle.CreateOptions(image=state.image_id, command=[*shell, created_by[len(" ".join(shell)) + 1:]],
                                          entrypoint=[], network="none")
        view = lifecycle.create(self.ctx, options)
        self.containers.append(view.id)
        self.out(f" ---> Running in {view.id[:12]}")
        return view.id

    def _config_container_done(self, state: StageState, cid: str | None) -> None:
        from mydocker.statemachine import lifecycle

        if cid is None:
            return
        lifecycle.commit(self.ctx, cid, [_event("commit", {"image": state.image_id, "layer": None})])
        if self.opts.remove:
            lifecycle.remove(self.ctx, cid, force=True)
            self.out(f"Removing intermediate container {cid[:12]}")
        self.containers.remove(cid)

    def _do_arg(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        env = self._env(state)
        for key, default in dockerfile.pairs(ins, env, self.escape):
            if key in self.opts.build_args and self.opts.build_args[key] is not None:
                state.args[key] = self.opts.build_args[key] or ""
                self.used_args.add(key)
            elif default != "\0":
                state.args[key] = default
            elif key in self.meta_args:
                state.args[key] = self.meta_args[key]
        text = "ARG " + " ".join(f"{k}={v}" if v != "\0" else k for k, v in
                                 dockerfile.pairs(ins, env, self.escape))
        self._nop(state, text, lambda cfg: None)

    def _do_env(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        pairs = dockerfile.pairs(ins, self._env(state), self.escape)

        def change(cfg: dict[str, Any]) -> None:
            env = dict(item.partition("=")[::2] for item in cfg.get("Env") or [])
            env.update(pairs)
            cfg["Env"] = [f"{k}={v}" for k, v in env.items()]

        self._nop(state, "ENV " + " ".join(f"{k}={v}" for k, v in pairs), change)

    def _do_label(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        pairs = dockerfile.pairs(ins, self._env(state), self.escape)

        def change(cfg: dict[str, Any]) -> None:
            cfg["Labels"] = {**(cfg.get("Labels") or {}), **dict(pairs)}

        self._nop(state, "LABEL " + " ".join(f"{k}={v}" for k, v in pairs), change)

    def _do_maintainer(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        author = " ".join(self._words(ins, state))
        state.config["author"] = author
        self._nop(state, f"MAINTAINER {author}", lambda cfg: None)

    def _do_expose(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        ports = []
        words = self._words(ins, state)
        for word in words:
            port, _, proto = word.partition("/")
            if not port.replace("-", "").isdigit():
                raise BuildError(f"Invalid containerPort: {word}")
            ports.append(f"{port}/{proto.lower() or 'tcp'}")

        def change(cfg: dict[str, Any]) -> None:
            cfg["ExposedPorts"] = {**(cfg.get("ExposedPorts") or {}), **{p: {} for p in ports}}

        self._nop(state, "EXPOSE " + " ".join(sorted(words)), change)

    def _do_volume(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        paths = [w for w in self._words(ins, state) if w]
        if not paths:
            raise BuildError("VOLUME specified can not be an empty string")

        def change(cfg: dict[str, Any]) -> None:
            cfg["Volumes"] = {**(cfg.get("Volumes") or {}), **{p: {} for p in paths}}

        self._nop(state, f"VOLUME {json.dumps(paths, separators=(',', ':'))}", change)

    def _do_user(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        user = " ".join(self._words(ins, state))
        self._nop(state, f"USER {user}", lambda cfg: cfg.update(User=user))

    def _do_stopsignal(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        sig = " ".join(self._words(ins, state))
        self._nop(state, f"STOPSIGNAL {sig}", lambda cfg: cfg.update(StopSignal=sig))

    def _do_shell(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        if not ins.json:
            raise BuildError("SHELL requires the arguments to be in JSON form")
        shell = list(ins.value)
        self._nop(state, f"SHELL {_json(shell)}", lambda cfg: cfg.update(Shell=shell))

    def _command(self, ins: dockerfile.Instruction, state: StageState) -> list[str]:
        return list(ins.value) if ins.json else [*self._shell(state), " ".join(ins.value)]

    def _do_cmd(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        cmd = self._command(ins, state)
        state.cmd_set = True
        self._nop(state, f"CMD {_json(cmd)}", lambda cfg: cfg.update(Cmd=cmd))

    def _do_entrypoint(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        entry = self._command(ins, state)

        def change(cfg: dict[str, Any]) -> None:
            cfg["Entrypoint"] = entry
            if not state.cmd_set:
                cfg["Cmd"] = None  # docker: an ENTRYPOINT drops a CMD inherited from the base image

        self._nop(state, f"ENTRYPOINT {_json(entry)}", change)

    def _do_healthcheck(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        words = list(ins.value)
        kind = words[0].upper() if words else ""
        if kind == "NONE":
            check: dict[str, Any] = {"Test": ["NONE"]}
        elif kind == "CMD":
            rest = words[1:]
            test = ["CMD", *rest] if ins.json else ["CMD-SHELL", " ".join(rest)]
            check = {"Test": test}
            for name, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod")):
                value = ins.flag(name)
                if value:
                    check[key] = _duration_ns(value)
            retries = ins.flag("retries")
            if retries:
                check["Retries"] = int(retries)
        else:
            raise BuildError(f"Unknown type \"{kind}\" in HEALTHCHECK (try CMD)")
        self._nop(state, f"HEALTHCHECK {_go_healthcheck(check)}", lambda cfg: cfg.update(Healthcheck=check))

    def _do_onbuild(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        trigger = ins.original.split(None, 1)[1] if len(ins.original.split(None, 1)) > 1 else ""
        first = trigger.split(None, 1)[0].upper() if trigger else ""
        if first in ("ONBUILD", "FROM", "MAINTAINER"):
            raise BuildError(f"{first} isn't allowed as an ONBUILD trigger")

        def change(cfg: dict[str, Any]) -> None:
            cfg["OnBuild"] = [*(cfg.get("OnBuild") or []), trigger]

        self._nop(state, f"ONBUILD {trigger}", change)

    def _do_workdir(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        path = " ".join(self._words(ins, state))
        current = state.config.get("config", {}).get("WorkingDir") or "/"
        workdir = os.path.normpath(os.path.join(current, path))
        created_by = f"{' '.join(self._shell(state))} #(nop) WORKDIR {workdir}"
        if self._cached(state, created_by):
            return
        config = json.loads(json.dumps(state.config))
        config.setdefault("config", {})["WorkingDir"] = workdir
        cid = self._config_container(state, created_by)
        if _lookup(self.ctx.root, state.layers, workdir) is None:
            staging = core_images.new_staging(self.ctx.root)
            buildcontext._make_dirs(staging, workdir)
            self._commit(state, config, created_by, staging, empty=False)
        else:
            self._commit(state, config, created_by, None, empty=True)
        self._config_container_done(state, cid)

    # --- RUN ----------------------------------------------------------------

    def _do_run(self, ins: dockerfile.Instruction, state: StageState, _done: Any) -> None:
        from mydocker.statemachine import lifecycle

        argv = self._run_argv(ins, state)
        build_env = {k: v for k, v in state.args.items() if k not in self._image_env_keys(state)}
        prefix = f"|{len(build_env)} " + " ".join(f"{k}={v}" for k, v in sorted(build_env.items())) + " " \
            if build_env else ""
        created_by = prefix + " ".join(argv)
        if self._cached(state, created_by):
            return
        if state.image_id is None:
            raise BuildError(f"The command '{' '.join(argv)}' returned a non-zero code: 127")
        cfg = state.config.get("config", {})
        options = lifecycle.CreateOptions(
            image=state.image_id, command=argv, entrypoint=[], env=[f"{k}={v}" for k, v in build_env.items()],
            workdir=cfg.get("WorkingDir") or None, user=cfg.get("User") or "", network=self.opts.network)
        view = lifecycle.create(self.ctx, options)
        self.containers.append(view.id)
        self.out(f" ---> Running in {view.id[:12]}")
        code = self._run_attached(view.id)
        if code != 0:
            raise BuildError(f"The command '{' '.join(argv)}' returned a non-zero code: {code}")
        upper = Path(view.config["directory"]) / "upper"
        staging_layer, diff, _size = core_images.commit_layer(self.ctx.root, upper)
        config = json.loads(json.dumps(state.config))
        self._commit(state, config, created_by, None, empty=False, stored=(staging_layer, diff))
        lifecycle.commit(self.ctx, view.id, [_event("commit", {"image": state.image_id, "layer": staging_layer})])
        if self.opts.remove:
            lifecycle.remove(self.ctx, view.id, force=True)
            self.out(f"Removing intermediate container {view.id[:12]}")
        self.containers.remove(view.id)

    def _run_argv(self, ins: dockerfile.Instruction, state: StageState) -> list[str]:
        """RUN's command; with heredocs as buildkit runs them: `RUN <<EOF` alone runs the
        heredoc's text as the shell's script, any other form goes to the shell whole,
        heredocs written back in, for the shell to read."""
        if not ins.heredocs:
            return self._command(ins, state)
        if ins.json:
            raise BuildError(f"dockerfile parse error line {ins.line}: a heredoc needs RUN's shell form")
        shell = self._shell(state)
        script = " ".join(ins.value)
        word = dockerfile.heredoc_word(script)
        if word is None or len(ins.heredocs) != 1:
            return [*shell, script + "".join(f"\n{content}{name}" for name, content in ins.heredocs)]
        word.expand = False  # the shell expands what it runs
        content = dockerfile.heredoc_content(ins.heredocs[0][1], word, {}, self.escape)
        if content.startswith("#!"):
            raise BuildError(f"dockerfile parse error line {ins.line}: a RUN heredoc with a #! line is not "
                             "supported here: write the script with COPY <<EOF and RUN it")
        return [*shell, content]

    def _heredoc_context(self, ins: dockerfile.Instruction, state: StageState) -> tuple[buildcontext.Context,
                                                                                         list[str]]:
        """COPY/ADD <<EOF: the heredocs as files of a context of their own (named as
        the heredocs, mode 0644), and the source names in it."""
        words = [dockerfile.heredoc_word(w) for w in ins.value[:-1]]
        if not all(words) or len(words) != len(ins.heredocs):
            raise BuildError(f"dockerfile parse error line {ins.line}: {ins.cmd} of heredocs and context files "
                             "in one instruction is not supported here: use two instructions")
        work = tempfile.mkdtemp(prefix=".heredoc-", dir=core_images.layers_dir(self.ctx.root))
        self.scratch_dirs.append(work)
        env = self._env(state)
        names = []
        for word, (name, content) in zip(words, ins.heredocs, strict=True):
            assert word is not None
            if "/" in name or name in (".", ".."):
                raise BuildError(f"dockerfile parse error line {ins.line}: invalid heredoc name {name!r}")
            path = os.path.join(work, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(dockerfile.heredoc_content(content, word, env, self.escape))
            os.chmod(path, 0o644)
            names.append(name)
        return buildcontext.Context(work), names

    def _image_env_keys(self, state: StageState) -> set[str]:
        return {e.partition("=")[0] for e in state.config.get("config", {}).get("Env") or []}

    def _run_attached(self, cid: str) -> int:
        from mydocker.statemachine import lifecycle

        sys.stdout.flush()
        saved: list[int] = []
        if self.opts.quiet:  # docker -q: no RUN output either
            devnull = os.open(os.devnull, os.O_WRONLY)
            saved = [os.dup(1), os.dup(2)]
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.close(devnull)
        try:
            result = lifecycle.start(self.ctx, cid, attached=True)
            assert result is not None
            _, status = os.waitpid(result.monitor_pid, 0)
        finally:
            for fd, saved_fd in zip((1, 2), saved, strict=False):
                os.dup2(saved_fd, fd)
                os.close(saved_fd)
        if not result.started:
            if result.message:
                raise BuildError(result.message)
            return result.exit_code or 125
        code = os.waitstatus_to_exitcode(status)
        return code if code >= 0 else 128 - code

    # --- COPY / ADD ---------------------------------------------------------

    def _do_copy(self, ins: dockerfile.Instruction, state: StageState, done: dict[str, StageState]) -> None:
        self._copy(ins, state, done, add=False)

    def _do_add(self, ins: dockerfile.Instruction, state: StageState, done: dict[str, StageState]) -> None:
        self._copy(ins, state, done, add=True)

    def _copy(self, ins: dockerfile.Instruction, state: StageState, done: dict[str, StageState], add: bool) -> None:
        words = self._words(ins, state)
        if len(words) < 2:
            raise BuildError(f"{ins.cmd} requires at least two arguments, but only one was provided. "
                             "Destination could not be determined.")
        *srcs, dest = words
        if add and any(s.startswith(("http://", "https://", "git@")) for s in srcs):
            raise BuildError(f"ADD of a URL is not supported here: {next(s for s in srcs if '://' in s)}: "
                             "download it into the context and ADD the file")
        source_from = ins.flag("from")
        context = self.context
        base: str | None = self.context.root
        if ins.heredocs:
            context, names = self._heredoc_context(ins, state)
            srcs, base = names, None
        elif source_from is not None:
            if add:
                raise BuildError("ADD does not support the --from flag")
            context = buildcontext.Context(self._flatten(source_from, done))
            base = None
        try:
            sources = [s for pattern in srcs for s in context.sources(pattern)]
        except buildcontext.ContextError as exc:
            raise BuildError(str(exc)) from None
        except dockerignore.PatternError as exc:
            raise BuildError(f"COPY failed: {exc}") from None
        patterns = self.patterns if base else []
        assert context.root is not None
        source_hash = copyhash.checksum([s.rel for s in sources], context.root, patterns, base is not None)
        workdir = state.config.get("config", {}).get("WorkingDir") or "/"
        target = dest if dest.startswith("/") else os.path.join(workdir, dest)
        chown = ins.flag("chown")
        # docker's own text, its missing space after --chown included
        created_by = f"{' '.join(self._shell(state))} #(nop) {ins.cmd} " \
                     f"{f'--chown={chown}' if chown else ''}{source_hash} in {dest} "
        if self._cached(state, created_by):
            return
        owner = self._owner(chown, state) if chown else None
        dest_is_dir = dest.endswith("/") or len(sources) > 1 or \
            _lookup_is_dir(self.ctx.root, state.layers, target)
        if len(sources) > 1 and not dest.endswith("/"):
            raise BuildError(f"When using {ins.cmd} with more than one source file, the destination must be a "
                             "directory and end with a /")
        staging = core_images.new_staging(self.ctx.root)
        try:
            _copy_parent_modes(self.ctx.root, state.layers, staging, target)
            buildcontext.copy_into(staging, sources, os.path.normpath(target), owner, patterns, base, add,
                                   dest_is_dir)
        except BaseException as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(exc, OSError | buildcontext.ContextError):
                raise BuildError(f"{ins.cmd} failed: {exc}") from None
            raise
        config = json.loads(json.dumps(state.config))
        self._commit(state, config, created_by, staging, empty=False)

    def _owner(self, chown: str, state: StageState) -> tuple[int, int]:
        from mydocker.core import users

        etc = None
        for layer in reversed(state.layers):
            candidate = core_images.layer_path(self.ctx.root, layer) / "etc"
            if (candidate / "passwd").is_file():
                etc = str(candidate)
                break
        try:
            uid, gid, _ = users.lookup_user(chown, etc or "/nonexistent")
        except users.SetupError as exc:
            raise BuildError(f"unable to convert uid/gid chown string to host mapping: {exc}") from None
        if ":" not in chown and not chown.isdigit():
            return uid, gid
        return uid, gid if ":" in chown else uid

    def _flatten(self, ref: str, done: dict[str, StageState]) -> str:
        """A stage's (or image's) merged filesystem in a temp dir, for COPY --from."""
        from mydocker.core import rootfs, safetar

        state = done.get(ref.lower())
        if state is None:
            try:
                image = images.resolve(self.ctx, ref)
            except NoSuchImage:
                raise BuildError(f"invalid from flag value {ref}: no stage or image of that name") from None
            layers, key = image.layers, image.id
        else:
            layers, key = state.layers, state.image_id or f"scratch-{ref}"
        if key in self.flattened:
            return self.flattened[key]
        work = tempfile.mkdtemp(prefix=".from-", dir=core_images.layers_dir(self.ctx.root))
        self.scratch_dirs.append(work)
        tree, scratch, empty = (os.path.join(work, d) for d in ("tree", "mnt", "upper"))
        self.flattened[key] = tree
        for d in (tree, scratch, empty):
            os.mkdir(d, 0o755)
        paths = [str(core_images.layer_path(self.ctx.root, x)) for x in layers]
        self.ctx.close()  # no SQLite across fork
        with tempfile.TemporaryFile(dir=work) as tmp:
            if paths:
                rootfs.export_merged(paths, empty, tmp.fileno(), scratch)
                tmp.seek(0)
                safetar.extract(tmp, tree, whiteouts="skip")
        return tree

    # --- images -------------------------------------------------------------

    def _key(self, state: StageState, created_by: str) -> str:
        return hashlib.sha256(f"{state.image_id}\0{created_by}".encode()).hexdigest()

    def _cached(self, state: StageState, created_by: str) -> bool:
        if self.opts.no_cache:
            return False
        row = self.ctx.conn.execute(
            "SELECT images.id FROM events JOIN images ON images.id = events.stream_id "
            "WHERE events.stream_type = 'image' AND events.type = 'build' "
            "AND json_extract(events.payload, '$.cache_key') = ? ORDER BY events.seq DESC LIMIT 1",
            (self._key(state, created_by),)).fetchone()
        if row is None:
            return False
        image = images.find_by_id(self.ctx.conn, row[0])
        assert image is not None
        self.out(" ---> Using cache")
        state.image_id, state.config = image.id, image.config
        state.layers, state.size = image.layers, image.row["size"]
        state.config.setdefault("history", [])
        return True

    def _commit(self, state: StageState, config: dict[str, Any], created_by: str, staging: Path | None,
                empty: bool, stored: tuple[str, str] | None = None) -> None:
        key = self._key(state, created_by)
        layers = list(state.layers)
        size = state.size
        if staging is not None:
            stored = core_images.store_layer(self.ctx.root, staging)[:2]
        if stored is not None:
            layer, diff = stored
            layers.append(layer)
            size += core_images.directory_size(core_images.layer_path(self.ctx.root, layer))
            rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
            rootfs["diff_ids"] = [*rootfs.get("diff_ids", []), diff]
        created = now_iso()
        config["created"] = created
        entry: dict[str, Any] = {"created": created, "created_by": created_by}
        if empty:
            entry["empty_layer"] = True
        config["history"] = [*(config.get("history") or []), entry]
        image_id = core_images.store_config(self.ctx.root, core_images.canonical_json(config))
        existed = images.find_by_id(self.ctx.conn, image_id) is not None
        images.register(self.ctx, "build", image_id, config, layers, size, [],
                        {"parent": state.image_id, "cache_key": key})
        if not existed:
            self.created.append(image_id)
        state.image_id, state.config, state.layers, state.size = image_id, config, layers, size


def build(ctx: Context, opts: BuildOptions, out: Callable[[str], None]) -> Built:
    if opts.context is not None and not os.path.isdir(opts.context):
        raise BuildError(f"unable to prepare context: path \"{opts.context}\" not found")
    for tag in opts.tags:
        images.check_tag(tag)  # before anything is read or built
    return Builder(ctx, opts, out).build()


def short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


def _json(words: list[str]) -> str:
    return json.dumps(words, separators=(",", ":")).replace('","', '" "')


def _event(kind: str, payload: dict[str, Any]) -> Any:
    from mydocker.store.events import Event

    return Event(kind, payload)


def _go_healthcheck(check: dict[str, Any]) -> str:
    """The check as docker's history shows it: Go's %q of its HealthConfig."""
    if check["Test"] == ["NONE"]:
        return '&{["NONE"] "0s" "0s" "0s" \'\\x00\'}'
    test = "[" + " ".join(json.dumps(t) for t in check["Test"]) + "]"
    durations = " ".join(f'"{_go_duration(check.get(k, 0))}"' for k in ("Interval", "Timeout", "StartPeriod"))
    retries = check.get("Retries", 0)
    rune = f"'\\x{retries:02x}'" if retries < 32 or retries == 127 else repr(chr(retries))
    return f"&{{{test} {durations} {rune}}}"


def _go_duration(ns: int) -> str:
    """time.Duration.String() for the whole-unit values a Dockerfile gives."""
    if ns == 0:
        return "0s"
    if ns < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if ns % size == 0:
                return f"{ns // size}{unit}"
    seconds, frac = divmod(ns, 10**9)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs}" + (f".{frac:09d}".rstrip("0") if frac else "") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    if minutes:
        return f"{minutes}m{text}"
    return text


def _duration_ns(text: str) -> int:
    units = {"ns": 1, "us": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit) and text[:-len(unit)].replace(".", "", 1).isdigit():
            return int(float(text[:-len(unit)]) * units[unit])
    raise BuildError(f"time: invalid duration \"{text}\"")


def _lookup(root: str, layers: list[str], path: str) -> os.stat_result | None:
    """A path's stat in the topmost layer that has it (what the merged view shows,
    symlinks in its parents aside)."""
    rel = path.strip("/")
    if not rel:
        return os.stat(root)
    for layer in reversed(layers):
        try:
            return os.lstat(core_images.layer_path(root, layer) / rel)
        except OSError:
            continue
    return None


def _lookup_is_dir(root: str, layers: list[str], path: str) -> bool:
    import stat

    st = _lookup(root, layers, path)
    return st is not None and stat.S_ISDIR(st.st_mode)


def _copy_parent_modes(root: str, layers: list[str], staging: Path, target: str) -> None:
    """The directories above a COPY's destination keep the modes and owners they
    have below: the new layer's copy of them would otherwise hide those."""
    parts = [p for p in os.path.normpath(target).split("/") if p]
    current = staging
    for k, part in enumerate(parts):
        current = current / part
        st = _lookup(root, layers, "/" + "/".join(parts[:k + 1]))
        if st is None:
            return
        import stat

        if not stat.S_ISDIR(st.st_mode):
            return
        current.mkdir(exist_ok=True)
        os.chmod(current, stat.S_IMODE(st.st_mode))
        os.lchown(current, st.st_uid, st.st_gid)


def history(ctx: Context, image: images.ImageView) -> list[dict[str, Any]]:
    """docker history IMAGE: one row per config history entry (empty layers too),
    newest first, with the size of the layer it made and the id of the image that
    step made where the build chain still holds it, else <missing>."""
    config = image.config
    created = config.get("created") or image.row["created_at"]
    entries = list(config.get("history") or [])
    layers = list(image.layers)
    missing = len(layers) - sum(1 for e in entries if not e.get("empty_layer"))
    if missing > 0:  # layers made before history was kept (import, load without history)
        first = entries[0].get("created", created) if entries else created
        entries = [{"created": first, "created_by": "", "comment": "" if entries else config.get("comment", "")}
                   for _ in range(missing)] + entries
    sizes: list[int] = []
    for entry in entries:
        if entry.get("empty_layer") or not layers:
            sizes.append(0)
        else:
            sizes.append(core_images.directory_size(core_images.layer_path(ctx.root, layers.pop(0))))
    parents = dict(ctx.conn.execute(
        "SELECT stream_id, json_extract(payload, '$.parent') FROM events "
        "WHERE stream_type = 'image' AND type = 'build'").fetchall())
    rows = []
    current: str | None = image.id
    for entry, size in reversed(list(zip(entries, sizes, strict=True))):
        rows.append({"ID": current or "<missing>", "CreatedAt": entry.get("created") or created,
                     "CreatedBy": entry.get("created_by", ""), "Size": size, "Comment": entry.get("comment", "")})
        current = parents.get(current) if current else None
    return rows
