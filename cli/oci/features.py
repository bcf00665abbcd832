"""`mydocker-runc features`: what this runtime supports, in the shape of runc's
features document (runtime-spec features.md), so callers can check first."""

from __future__ import annotations

from typing import Any


def features() -> dict[str, Any]:
    from mydocker.core import ociseccomp, ocispec
    from mydocker.core.security import CAPABILITIES

    options = sorted(set(ocispec._FLAGS) | set(ocispec.PROPAGATION))  # noqa: SLF001 - one table, two readers
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": ocispec.OCI_VERSION,
        "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
        "mountOptions": options,
        "linux": {
            "namespaces": sorted(ocispec.NAMESPACES),
            "capabilities": [f"CAP_{name}" for name in CAPABILITIES],
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False},
            "seccomp": {
                "enabled": True,
                "actions": [a for a in ociseccomp.ACTIONS if a != "SCMP_ACT_NOTIFY"],
                "operators": list(ociseccomp.OPERATORS),
                "archs": sorted(ociseccomp.ARCHES),
            },
            "apparmor": {"enabled": False},
            "selinux": {"enabled": False},
        },
        "annotations": {"io.github.mydocker.runtime": "mydocker-runc",
                        "io.github.mydocker.events": "every create/start/kill/delete in the event log"},
    }
