"""File sizes in words a user reads: "200 MB", "9.8 KB"."""

from __future__ import annotations


def human_size(n_bytes: int) -> str:
    """A byte count as B/KB/MB/GB (powers of 1024), with one decimal below 10."""
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n_bytes >= size:
            value = n_bytes / size
            return f"{value:,.1f} {unit}" if value < 10 else f"{value:,.0f} {unit}"
    return f"{n_bytes} bytes"
