"""`audit serve` and `audit export` against a log this module writes: one server for the
module, on a free loopback port, over a root where five containers lived differently
(exit 0 privileged and removed, exit 3, killed with a published port and two execs,
OOM-killed, still running). The page is read by headless Chromium as a person's
browser would; the screenshot stays in pytest's temp dir (audit-timeline*/timeline.png)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import select
import shutil
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.integration.conftest import MYDOCKER, Runtime, _checked_runtime

README = Path(__file__).resolve().parents[2] / "README.md"
CHROMIUM = shutil.which("chromium")
NAMES = {"ok": "audok", "three": "audthree", "victim": "audvictim", "hog": "audhog", "run": "audrun"}
VICTIM_PORT: dict[str, str] = {}  # the ephemeral host port it got (released when it dies)


@dataclass
class Site:
    md: Runtime
    url: str
    base: Path
    shots: Path  # outlives the root's clean-up, for a person to look at
    server: subprocess.Popen[str]

    def get(self, path: str) -> tuple[int, bytes]:
        return self.request("GET", path)

    def request(self, method: str, path: str, data: bytes | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(self.url + path.lstrip("/"), data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def json(self, path: str) -> object:
        status, body = self.get(path)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)

    def canned(self, name: str, query: str = "") -> list[dict]:
        rows = self.json(f"/mydocker/{name}.json?_shape=array{query}")
        assert isinstance(rows, list)
        return rows


@pytest.fixture(scope="module")
def md_module(tmp_path_factory):
    yield from _checked_runtime(tmp_path_factory.mktemp("audit-serve"))


@pytest.fixture(scope="module")
def site(md_module: Runtime, tmp_path_factory: pytest.TempPathFactory):
    md = md_module
    n = NAMES
    md.ok("run", "--network", "none", "--privileged", "--name", n["ok"], "busybox", "true")
    assert md("run", "--network", "none", "--name", n["three"], "busybox", "sh", "-c", "exit 3").code == 3
    md.ok("run", "-d", "--cap-add", "NET_ADMIN", "-p", "127.0.0.1::80", "--name", n["victim"],
          "busybox", "sleep", "300")
    VICTIM_PORT["80/tcp"] = md.ok("port", n["victim"], "80/tcp").strip().rsplit(":", 1)[1]
    md.ok("exec", n["victim"], "true")
    assert md("exec", n["victim"], "sh", "-c", "exit 2").code == 2
    md.ok("kill", n["victim"])
    assert md("run", "--network", "none", "-m", "32m", "--name", n["hog"], "busybox", "sh", "-c",
              "x=a; while true; do x=$x$x; done", timeout=120).code == 137
    md.ok("run", "-d", "--network", "none", "--name", n["run"], "busybox", "sleep", "300")
    md.ok("rm", n["ok"])
    server = subprocess.Popen([MYDOCKER, "--root", str(md.root), "audit", "serve", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                              env={**os.environ, **md.env})
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+/) ", first)
        assert match, f"audit serve said {first!r}; {server.stderr.read() if server.poll() is not None else ''}"
        yield Site(md, match.group(1), md.root.parent, tmp_path_factory.mktemp("audit-timeline"), server)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
        md.ok("rm", "-f", n["three"], n["victim"], n["hog"], n["run"])
    assert "WARNING" not in err and "Traceback" not in err, err


def _events(md: Runtime) -> list[tuple]:
    with md.db() as conn:
        return conn.execute("SELECT * FROM events ORDER BY seq").fetchall()


# --- the JSON API and the metadata ---------------------------------------------------


def test_the_views_are_served_and_documented(site: Site) -> None:
    database = site.json("/mydocker.json")
    names = {t["name"] for t in database["tables"]} | {v["name"] for v in database["views"]}
    assert {"events", "containers", "container_events", "container_lifetimes", "ip_allocations"} <= names
    metadata = site.json("/-/metadata.json")["databases"]["mydocker"]
    for view in ("container_events", "container_lifetimes", "ip_allocations"):
        assert metadata["tables"][view]["description"]
    lifetimes = site.json("/mydocker/container_lifetimes.json?_shape=array")
    columns = {c: d for c, d in metadata["tables"]["container_lifetimes"]["columns"].items()}
    assert set(columns) == set(lifetimes[0])  # every column of the view is described, no other


def test_container_lifetimes_as_the_containers_lived(site: Site) -> None:
    rows = {r["name"]: r for r in site.json("/mydocker/container_lifetimes.json?_shape=array")}
    n = NAMES
    assert rows[n["ok"]]["last_exit_code"] == 0 and rows[n["ok"]]["removed_at"]
    assert rows[n["three"]]["last_exit_code"] == 3 and rows[n["three"]]["removed_at"] is None
    assert rows[n["victim"]]["last_die_reason"] == "killed by signal 9"
    assert rows[n["hog"]]["ever_oom_killed"] == 1
    assert rows[n["run"]]["last_died_at"] is None and rows[n["run"]]["starts"] == 1


def _normal(sql: str) -> str:
    return " ".join(sql.split())


def test_the_first_canned_queries_are_the_readme_five(site: Site) -> None:
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), re.DOTALL)
    readme = [_normal("\n".join(x for x in b.splitlines() if not x.startswith("--"))).rstrip(";") for b in blocks]
    queries = site.json("/-/metadata.json")["databases"]["mydocker"]["queries"]
    canned = [_normal(q["sql"]) for q in list(queries.values())[:5]]
    assert canned == [readme[0].replace("'web'", ":name"), *readme[1:]]
    assert len(queries) >= 10


def test_canned_queries_answer_from_the_log(site: Site) -> None:
    n = NAMES
    life = site.canned("container_life", f"&name={n['three']}")
    assert [r["event"] for r in life] == ["create", "start", "die"] and life[-1]["exit_code"] == 3
    assert site.canned("oom_killed") == [{"name": n["hog"], "exit_code": 137}]
    ended = {r["name"]: r for r in site.canned("how_containers_ended")}
    assert ended[n["ok"]]["removed"] == 1 and ended[n["three"]]["last_exit_code"] == 3
    assert site.canned("removed_by") == [{"name": n["ok"], "user": "root", "command": f"rm {n['ok']}"}]
    assert site.canned("unwatched_deaths") == []

    privileged = {r["name"]: r for r in site.canned("privileged_or_added_capabilities")}
    assert set(privileged) == {n["ok"], n["victim"]}  # the others ran with docker's defaults
    assert privileged[n["ok"]]["added_capabilities"] == "ALL"
    assert privileged[n["victim"]]["added_capabilities"] == "NET_ADMIN"

    ports = site.canned("published_ports")
    port = VICTIM_PORT["80/tcp"]
    assert [(p["name"], p["host_ip"], str(p["host_port"]), p["container_port"], p["proto"]) for p in ports] == [
        (n["victim"], "127.0.0.1", port, 80, "tcp")]

    assert site.canned("oom_kills_by_image") == [{"image": "busybox", "oom_kills": 1, "containers": n["hog"]}]
    removals = site.canned("who_removed_what")
    assert [(r["name"], r["user"], r["command"]) for r in removals] == [(n["ok"], "root", f"rm {n['ok']}")]
    assert removals[0]["actor_pid"] > 0
    execs = site.canned("exec_sessions_per_container")
    assert [(r["name"], r["sessions"], r["failed"]) for r in execs] == [(n["victim"], 2, 1)]


# --- read-only ----------------------------------------------------------------------


def test_writes_are_refused_and_the_log_is_unchanged(site: Site) -> None:
    db = site.md.root / "mydocker.db"
    before, digest = _events(site.md), hashlib.sha256(db.read_bytes()).hexdigest()
    for method, path, data in [
        ("POST", "/mydocker", b"sql=DELETE+FROM+events"),
        ("POST", "/mydocker/how_containers_ended", b""),
        ("POST", "/mydocker/events/1/-/delete", b""),
        ("PUT", "/mydocker/events", b"{}"),
        ("DELETE", "/mydocker/events/1", None),
    ]:
        status, body = site.request(method, path, data)
        assert status == 405 and b"read-only" in body, (method, path, status)
    status, body = site.get("/mydocker.json?sql=DELETE+FROM+events")
    assert status == 400 and b"must be a SELECT" in body
    assert _events(site.md) == before
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def test_the_served_database_object_cannot_write(site: Site) -> None:
    """The locks behind the door: the write connection is refused, the read ones are mode=ro."""
    import asyncio

    from datasette.app import Datasette
    from mydocker.cli.audit_site.server import ReadOnlyDatabase

    ds = Datasette()
    db = ds.add_database(ReadOnlyDatabase(ds, path=str(site.md.root / "mydocker.db"), is_mutable=True), name="m")

    async def attempts() -> list[str]:
        errors = []
        for attempt in (lambda: db.execute_write("DELETE FROM containers"),
                        lambda: db.execute_fn(lambda conn: conn.execute("DELETE FROM containers"))):
            try:
                await attempt()
            except (PermissionError, sqlite3.OperationalError) as exc:
                errors.append(str(exc))
        return errors

    assert asyncio.run(attempts()) == ["the audit log is served read-only", "attempt to write a readonly database"]


# --- the timeline, as a browser renders it -----------------------------------------


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.bars: dict[str, str] = {}
        self.resources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "g" and a.get("class") == "bar":
            self.bars[a["data-name"] or ""] = a["data-outcome"] or ""
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.resources.append(a["src"] or "")
        if tag == "link" and a.get("href") and a.get("rel") != "alternate":
            self.resources.append(a["href"] or "")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make host-deps installs it)")
def test_the_timeline_renders_in_headless_chromium(site: Site) -> None:
    assert CHROMIUM is not None
    url = site.url + "-/timeline"
    profile = site.base / "chromium-profile"
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
               "--window-size=1200,600"]
    dom = subprocess.run([*browser, "--dump-dom", url], capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = _Page()
    page.feed(dom.stdout)
    n = NAMES
    assert page.bars == {n["ok"]: "exit0", n["three"]: "nonzero", n["victim"]: "killed", n["hog"]: "oom",
                         n["run"]: "running"}
    # Everything it loads comes from this server: it renders with no network.
    assert page.resources and all(r.startswith("/") and not r.startswith("//") for r in page.resources), \
        page.resources
    screenshot = site.shots / "timeline.png"
    shot = subprocess.run([*browser, f"--screenshot={screenshot}", url], capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert shot.returncode == 0 and screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot.stderr[-2000:]


# --- export ---------------------------------------------------------------------------


def _view(md: Runtime) -> tuple[list[str], list[tuple]]:
    with md.db() as conn:
        cursor = conn.execute("SELECT * FROM container_events ORDER BY seq")
        return [d[0] for d in cursor.description], cursor.fetchall()


def test_export_jsonl_and_csv_are_the_container_events(site: Site) -> None:
    md = site.md
    columns, view = _view(md)
    with md.db() as conn:
        container_seqs = [r[0] for r in conn.execute(
            "SELECT seq FROM events WHERE stream_type = 'container' ORDER BY seq")]
    records = [json.loads(line) for line in md.ok("audit", "export").splitlines()]
    assert [r["seq"] for r in records] == container_seqs  # every container event of the log, in order
    for record, row in zip(records, view, strict=True):
        assert list(record) == columns
        assert record["payload"] == json.loads(row[columns.index("payload")])
        assert [record[c] for c in columns if c != "payload"] == [
            v for c, v in zip(columns, row, strict=True) if c != "payload"]

    table = list(csv.reader(io.StringIO(md.ok("audit", "export", "--format", "csv"))))
    assert table[0] == columns
    assert table[1:] == [["" if v is None else str(v) for v in row] for row in view]


def test_export_filters_like_events(site: Site) -> None:
    md = site.md
    n = NAMES
    died = [json.loads(line) for line in md.ok("audit", "export", "-f", f"container={n['three']}",
                                                 "-f", "event=die").splitlines()]
    assert [(r["name"], r["event"], r["exit_code"]) for r in died] == [(n["three"], "die", 3)]
    _, view = _view(md)
    middle = view[len(view) // 2]
    since, until = middle[5], view[-1][5]
    records = [json.loads(line) for line in md.ok("audit", "export", "--since", since, "--until", until).splitlines()]
    assert [r["seq"] for r in records] == [row[0] for row in view if since <= row[5] <= until]
    assert md.ok("audit", "export", "-f", "event=pause") == ""


def test_export_follow_yields_what_is_appended_after_it_started(site: Site) -> None:
    md = site.md
    follower = subprocess.Popen([MYDOCKER, "--root", str(md.root), "audit", "export", "--follow",
                                 "-f", "container=audlate"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, env={**os.environ, **md.env})
    try:
        time.sleep(1)  # not an assert: lets it reach its follow loop before the event exists
        cid = md.ok("create", "--network", "none", "--name", "audlate", "busybox", "true").strip()
        assert follower.stdout is not None
        ready, _, _ = select.select([follower.stdout], [], [], 60)
        assert ready, "audit export --follow printed nothing"
        record = json.loads(follower.stdout.readline())
        assert (record["container_id"], record["name"], record["event"]) == (cid, "audlate", "create")
        assert follower.poll() is None  # still following
    finally:
        follower.terminate()
        follower.communicate(timeout=30)
        md.ok("rm", "audlate")


# --- bad arguments --------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["audit"],
    ["audit", "bogus"],
    ["audit", "export", "--since", "yesterday"],
    ["audit", "export", "--format", "xml"],
    ["audit", "export", "-f", "colour"],  # an unknown key is ignored, as by events; no '=' is not
    ["audit", "serve", "--port", "70000"],
    ["audit", "serve", "--host", "192.0.2.1", "--port", "0"],  # TEST-NET-1: no host has it
])
def test_bad_arguments_get_one_line_and_125(site: Site, argv: list[str]) -> None:
    before = _events(site.md)
    result = site.md(*argv)
    assert result.code == 125, result
    assert result.err.startswith("Error: ") and result.err.count("\n") == 1, result.err
    assert result.out == ""
    assert _events(site.md) == before


def test_another_address_only_with_a_warning(site: Site) -> None:
    md = site.md
    server = subprocess.Popen([MYDOCKER, "--root", str(md.root), "audit", "serve", "--host", "0.0.0.0", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                              env={**os.environ, **md.env})
    try:
        assert server.stdout is not None
        assert "http://0.0.0.0:" in server.stdout.readline()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert err.startswith("WARNING: serving the audit log on 0.0.0.0"), err
