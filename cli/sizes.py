"""docker's size wording (go-units): HumanSize in decimal units with four
significant digits for disk sizes, BytesSize in binary units for memory."""

from __future__ import annotations


def _format(size: float, base: float, units: tuple[str, ...], precision: int = 4) -> str:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    text = f"{size:.{precision}g}"
    return f"{text}{units[i]}"


def human_size(size: float, precision: int = 4) -> str:
    """1.984MB, 3B, 0B (system df; images and history print 3 digits: 1.98MB)."""
    return _format(float(size), 1000.0, ("B", "kB", "MB", "GB", "TB", "PB"), precision)


def bytes_size(size: float) -> str:
    """392KiB, 23.54GiB (docker stats)."""
    return _format(float(size), 1024.0, ("B", "KiB", "MiB", "GiB", "TiB", "PiB"))
