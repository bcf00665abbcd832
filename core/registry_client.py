"""The distribution API (v2) over HTTP, through `requests`.

Auth as docker does it: the first request goes to /v2/; a 401 says how to
authenticate (WWW-Authenticate). `Basic` gets the stored user and password on
every request; `Bearer realm=..,service=..` gets a token from the realm for this
repository's scope (with the password as basic auth when there is one) and sends
it as `Authorization: Bearer`. A later 401 with a different scope fetches a new
token once.

Errors carry docker's words: the registry's error codes as `code: message`
("manifest unknown: manifest unknown"), `Get "URL": connection refused`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from mydocker.core import registry_names, registry_tls
from mydocker.core.mediatypes import ACCEPT, MANIFEST_LIST, MANIFEST_V2, OCI_INDEX, OCI_MANIFEST, SCHEMA1

__all__ = ["ACCEPT", "MANIFEST_LIST", "MANIFEST_V2", "OCI_INDEX", "OCI_MANIFEST", "SCHEMA1"]

CHUNK = 1 << 20
MANIFEST_LIMIT = 4 << 20
TIMEOUT = (10, 60)  # connect, and between two reads of a body


class RegistryError(Exception):
    def __init__(self, message: str, code: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class DigestMismatch(RegistryError):
    pass


@dataclass
class Manifest:
    raw: bytes
    media_type: str
    digest: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.raw)


_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="x",service="y"` -> ("bearer", {realm, service})."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                            for m in _CHALLENGE_PARAM.finditer(rest)}


def _error_text(response: requests.Response) -> tuple[str, str]:
    """(code, `code: message`) from a registry's JSON error body, or the HTTP status."""
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    if errors and isinstance(errors[0], dict):
        code = str(errors[0].get("code", "")).upper()
        message = str(errors[0].get("message", "") or code.lower().replace("_", " "))
        return code, f"{code.lower().replace('_', ' ')}: {message}"
    reason = response.reason or ""
    return "", f"unexpected status from {response.request.method} request to {response.url}: " \
               f"{response.status_code} {reason}".strip()


def _network_error(method: str, url: str, exc: Exception) -> RegistryError:
    text = str(exc)
    for needle, short in (("CERTIFICATE_VERIFY_FAILED", "x509: certificate signed by unknown authority"),
                          ("ALERT_BAD_CERTIFICATE", "remote error: tls: bad certificate"),
                          ("ALERT_CERTIFICATE_REQUIRED", "remote error: tls: certificate required"),
                          ("Connection refused", "connect: connection refused"),
                          ("Name or service not known", "no such host"),
                          ("Temporary failure in name resolution", "no such host"),
                          ("timed out", "i/o timeout"), ("Network is unreachable", "connect: network is unreachable")):
        if needle in text:
            text = short
            break
    else:
        text = text.splitlines()[0] if text else type(exc).__name__
    return RegistryError(f'{method.capitalize()} "{url}": {text}')


class _TLSAdapter(requests.adapters.HTTPAdapter):
    """HTTPS with the registry's own CAs and client certificate (certs.d)."""

    def __init__(self, context: Any) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


class Client:
    """One repository on one registry, for pull or push."""

    def __init__(self, host: str, repository: str, creds: tuple[str, str] | None, actions: str = "pull") -> None:
        try:
            tls = registry_tls.settings(host)
        except registry_tls.TLSConfigError as exc:
            raise RegistryError(str(exc)) from None
        plain = registry_names.is_plain_http(host) and not tls.ca_files
        self.base = f"{'http' if plain else 'https'}://{host}/v2/"
        self.host = host
        self.repository = repository  # the path: library/alpine
        self.creds = creds
        self.scope = f"repository:{repository}:{actions}" if repository else ""  # login: no scope
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "mydocker/0.1 (python-requests)"
        if not plain:
            try:
                self.session.mount(f"https://{host}/", _TLSAdapter(registry_tls.context(tls)))
            except registry_tls.TLSConfigError as exc:
                raise RegistryError(str(exc)) from None
        self._authorization: str | None = None
        self._challenge: tuple[str, dict[str, str]] | None = None
        self._pinged = False

    def close(self) -> None:
        self.session.close()

    # --- auth ----------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: learn how to authenticate, and do it (login checks credentials so)."""
        if self._pinged:
            return
        url = self.base
        try:
            response = self.session.get(url, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise _network_error("GET", url, exc) from None
        if response.status_code == 401:
            self._challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            self._authenticate(self._challenge, self.scope)
        elif response.status_code >= 400 and response.status_code != 404:
            _, text = _error_text(response)
            raise RegistryError(text, status=response.status_code)
        self._pinged = True

    def check_login(self) -> None:
        """Credentials are good when /v2/ (or the token realm) accepts them."""
        self.ping()
        if self._authorization and self._authorization.startswith("Basic"):
            response = self._send("GET", self.base, retry_auth=False)
            if response.status_code == 401:
                _, text = _error_text(response)
                raise RegistryError(f'Get "{self.base}": {text}', "UNAUTHORIZED", 401)

    def _authenticate(self, challenge: tuple[str, dict[str, str]], scope: str) -> None:
        scheme, params = challenge
        if scheme == "basic":
            if self.creds is None:
                return  # anonymous: the 401 that follows is the user's error to see
            self._authorization = requests.auth._basic_auth_str(*self.creds)
        elif scheme == "bearer":
            realm = params.get("realm")
            if not realm:
                raise RegistryError(f"bad WWW-Authenticate header from {self.host}: no realm")
            query = {"service": params.get("service", "")}
            if scope:
                query["scope"] = scope
            if self.creds:
                query["account"] = self.creds[0]
            try:
                response = self.session.get(realm, params=query, auth=self.creds, timeout=TIMEOUT)
            except requests.RequestException as exc:
                raise _network_error("GET", realm, exc) from None
            if response.status_code in (401, 403):
                raise RegistryError(f'Get "{realm}": unauthorized: incorrect username or password',
                                    "UNAUTHORIZED", 401)
            if response.status_code != 200:
                _, text = _error_text(response)
                raise RegistryError(f'Get "{realm}": {text}', status=response.status_code)
            try:
                body = response.json()
                token = body.get("token") or body.get("access_token")
            except (ValueError, AttributeError):
                token = None
            if not token:
                raise RegistryError(f"no token in the answer of {realm}")
            self._authorization = f"Bearer {token}"

    def _send(self, method: str, url: str, retry_auth: bool = True, **kwargs: Any) -> requests.Response:
        self.ping()
        headers = dict(kwargs.pop("headers", None) or {})
        if self._authorization:
            headers["Authorization"] = self._authorization
        try:
            response = self.session.request(method, url, headers=headers, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as exc:
            raise _network_error(method, url, exc) from None
        data = kwargs.get("data")
        replayable = data is None or isinstance(data, bytes) or hasattr(data, "seek")
        if response.status_code == 401 and retry_auth and replayable:
            challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if challenge[0] == "bearer" and challenge[1].get("scope") and challenge[1]["scope"] != self.scope:
                response.close()
                self._authenticate(challenge, challenge[1]["scope"])
                if data is not None and hasattr(data, "seek"):
                    data.seek(0)
                return self._send(method, url, retry_auth=False, **kwargs)
        return response

    def _url(self, kind: str, ref: str) -> str:
        return f"{self.base}{self.repository}/{kind}/{ref}"

    def _fail(self, response: requests.Response) -> RegistryError:
        code, text = _error_text(response)
        if response.status_code == 401 and not code:
            text = "unauthorized: authentication required"
            code = "UNAUTHORIZED"
        return RegistryError(text, code or ("NOT_FOUND" if response.status_code == 404 else ""),
                             response.status_code)

    # --- pull ----------------------------------------------------------------

    def manifest(self, reference: str, accept: str = ACCEPT) -> Manifest:
        response = self._send("GET", self._url("manifests", reference), headers={"Accept": accept}, stream=True)
        with response:
            if response.status_code != 200:
                raise self._fail(response)
            raw = response.raw.read(MANIFEST_LIMIT + 1, decode_content=True)
        if len(raw) > MANIFEST_LIMIT:  # as docker: a registry cannot make us hold gigabytes of JSON
            raise RegistryError(f"manifest for {self.repository}:{reference} is larger than {MANIFEST_LIMIT} bytes")
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if reference.startswith("sha256:") and digest != reference:
            raise DigestMismatch(f"manifest verification failed for digest {reference}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            body_type = json.loads(raw).get("mediaType")
        except (ValueError, AttributeError):
            raise RegistryError(f"invalid manifest for {self.repository}:{reference}") from None
        if body_type:
            media_type = body_type
        return Manifest(raw, media_type, digest)

    def tags(self) -> list[str]:
        """Every tag of the repository (tags/list, following the Link pages)."""
        url: str | None = f"{self.base}{self.repository}/tags/list"
        found: list[str] = []
        while url:
            response = self._send("GET", url)
            if response.status_code != 200:
                raise self._fail(response)
            try:
                found += [str(t) for t in response.json().get("tags") or []]
            except (ValueError, AttributeError):
                raise RegistryError(f"invalid tag list for {self.repository}") from None
            following = response.links.get("next", {}).get("url")
            url = urljoin(self.base, following) if following else None
        return found

    def blob_bytes(self, digest: str, limit: int = 64 << 20) -> bytes:
        """A small blob (a config), verified."""
        response = self._send("GET", self._url("blobs", digest), stream=True)
        with response:
            if response.status_code != 200:
                raise self._fail(response)
            try:
                data = response.raw.read(limit + 1, decode_content=False)
            except Exception as exc:  # urllib3's ProtocolError/IncompleteRead: a cut connection
                raise RegistryError(f"error pulling {digest}: unexpected EOF") from exc
        if len(data) > limit:
            raise RegistryError(f"blob {digest} is too large for an image config")
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            raise DigestMismatch(f"filesystem layer verification failed for digest {digest}")
        return data

    def download(self, digest: str, size: int, partial: Path, progress: Callable[[int], None]) -> None:
        """The blob into `partial`, resuming what a killed pull left there; raises
        unless the bytes on disk have the digest and size the manifest names."""
        hasher = hashlib.sha256()
        have = 0
        if partial.exists():
            with open(partial, "rb") as f:
                while chunk := f.read(CHUNK):
                    hasher.update(chunk)
                    have += len(chunk)
            if have > size:
                partial.unlink()
                hasher, have = hashlib.sha256(), 0
        headers = {"Range": f"bytes={have}-"} if 0 < have < size else {}
        if have < size or size == 0:
            response = self._send("GET", self._url("blobs", digest), stream=True, headers=headers)
            with response:
                if response.status_code == 200 and have:
                    hasher, have = hashlib.sha256(), 0  # the server ignored the Range: start over
                elif response.status_code not in (200, 206):
                    raise self._fail(response)
                fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (os.O_APPEND if have else os.O_TRUNC),
                             0o600)
                try:
                    progress(have)
                    chunks = response.raw.stream(CHUNK, decode_content=False)
                    while True:
                        try:
                            piece = next(chunks, None)
                        except requests.RequestException as exc:
                            raise RegistryError(f"error pulling {digest}: unexpected EOF ({exc})") from None
                        except Exception as exc:  # urllib3's ProtocolError/IncompleteRead: a cut connection
                            raise RegistryError(f"error pulling {digest}: unexpected EOF") from exc
                        if piece is None:
                            break
                        _write_all(fd, piece)  # the disk's errors (ENOSPC, EIO) are the caller's to word
                        hasher.update(piece)
                        have += len(piece)
                        progress(have)
                finally:
                    os.close(fd)
        if have < size:
            raise RegistryError(f"error pulling {digest}: unexpected EOF")
        if "sha256:" + hasher.hexdigest() != digest or have != size:
            partial.unlink()
            raise DigestMismatch(f"filesystem layer verification failed for digest {digest}")

    # --- push ----------------------------------------------------------------

    def has_blob(self, digest: str) -> bool:
        response = self._send("HEAD", self._url("blobs", digest))
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise self._fail(response)

    def mount(self, digest: str, from_repository: str) -> bool:
        """Cross-repository mount of a blob the registry has under another name."""
        response = self._send("POST", f"{self.base}{self.repository}/blobs/uploads/",
                              params={"mount": digest, "from": from_repository})
        if response.status_code == 202:  # not mounted: an upload was opened instead; drop it
            location = response.headers.get("Location")
            if location:
                self._send("DELETE", urljoin(self.base, location)).close()
        return response.status_code == 201

    def upload(self, digest: str, source: Any, size: int) -> None:
        """POST for an upload URL, then one PUT with the whole blob and its digest."""
        response = self._send("POST", f"{self.base}{self.repository}/blobs/uploads/")
        if response.status_code not in (201, 202):
            raise self._fail(response)
        location = urljoin(self.base, response.headers.get("Location", ""))
        location += ("&" if "?" in location else "?") + f"digest={digest}"
        response = self._send("PUT", location, data=source, headers={"Content-Type": "application/octet-stream"})
        if response.status_code not in (201, 204):
            raise self._fail(response)

    def put_manifest(self, reference: str, raw: bytes, media_type: str) -> str:
        response = self._send("PUT", self._url("manifests", reference), data=raw,
                              headers={"Content-Type": media_type})
        if response.status_code not in (200, 201, 202):
            raise self._fail(response)
        return "sha256:" + hashlib.sha256(raw).hexdigest()


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write less than asked (a filesystem filling up): what it did not
    take would be missing from the blob while the hash, fed the whole chunk, agreed."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
