"""Sizes in words a user reads, one convention everywhere: decimal units, as Hugging Face and file managers show them.

A gigabyte here is 1,000,000,000 bytes ("GB"), as on the Hub's file lists, in macOS's Finder and in GNOME's Files,
so "65.6 GB" on the Models page is the number the user saw on the model's Hub page and sees in their file manager.
Every size shown to a user (the Models page, the library, the planner's verdicts, downloads, attachment chips, the
CLI, error messages) goes through ``format_size``, so one file shows one size everywhere. Binary units (``GiB``) are
kept only for internal limits that are naturally powers of two and are never shown as such.

``format_size`` gives three significant digits: "812 bytes", "9.77 kB", "3.24 MB", "65.6 GB", "116 GB".
"""

from __future__ import annotations

KB = 1000
MB = 1000**2
GB = 1000**3
TB = 1000**4

KiB = 1024
MiB = 1024**2
GiB = 1024**3

_UNITS = (("kB", KB), ("MB", MB), ("GB", GB), ("TB", TB))


def _digits(value: float) -> str:
    """``value`` (1 to 999.5) to three significant digits."""
    if round(value, 2) < 10:
        return f"{value:.2f}"
    if round(value, 1) < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def format_size(n_bytes: float | None) -> str:
    """A byte count in decimal units with three significant digits ("9.77 kB", "65.6 GB"); None is "unknown"."""
    if n_bytes is None:
        return "unknown"
    if n_bytes < 0:
        return "-" + format_size(-n_bytes)
    if round(n_bytes) < KB:
        whole = round(n_bytes)
        return f"{whole} byte" if whole == 1 else f"{whole} bytes"
    for unit, size in _UNITS[:-1]:
        if round(n_bytes / size) < 1000:
            return f"{_digits(n_bytes / size)} {unit}"
    unit, size = _UNITS[-1]
    return f"{_digits(n_bytes / size)} {unit}" if n_bytes / size < 999.5 else f"{n_bytes / size:,.0f} {unit}"


def format_rate(bytes_per_s: float) -> str:
    """A transfer speed in the same units: "12.3 MB/s"."""
    return f"{format_size(bytes_per_s)}/s"


def format_progress(done: float, total: float) -> str:
    """How much of a total: "7.93 GB of 65.6 GB"."""
    return f"{format_size(done)} of {format_size(total)}"
