"""One HEAD of a manifest: the digest a registry gives a tag now, for a warm pull.

This goes through the standard library's http.client rather than requests: the
answer is one header, and importing requests costs more than a warm pull should
take in all. It knows anonymous access and basic auth only; anything else (a
bearer challenge, an error, no digest header) answers None and the caller takes
the full path through registry_client.
"""

from __future__ import annotations

import base64
import http.client

from mydocker.core import registry_names, registry_tls

TIMEOUT = 10


def manifest_digest(host: str, repository: str, reference: str, accept: str,
                    creds: tuple[str, str] | None) -> str | None:
    try:
        tls = registry_tls.settings(host)
        plain = registry_names.is_plain_http(host) and not tls.ca_files
        conn: http.client.HTTPConnection = (
            http.client.HTTPConnection(host, timeout=TIMEOUT) if plain
            else http.client.HTTPSConnection(host, timeout=TIMEOUT, context=registry_tls.context(tls)))
    except (registry_tls.TLSConfigError, http.client.InvalidURL):
        return None
    path = f"/v2/{repository}/manifests/{reference}"
    headers = {"Accept": accept, "User-Agent": "mydocker/0.1"}
    try:
        for attempt in (1, 2):
            conn.request("HEAD", path, headers=headers)
            response = conn.getresponse()
            response.read()
            challenge = response.getheader("WWW-Authenticate", "")
            if response.status == 401 and attempt == 1 and creds and challenge.lower().startswith("basic"):
                token = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
                headers["Authorization"] = f"Basic {token}"
                continue
            if response.status != 200:
                return None
            digest = response.getheader("Docker-Content-Digest")
            return digest if digest and digest.startswith("sha256:") else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    return None
