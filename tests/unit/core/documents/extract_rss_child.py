"""Reads one attachment the way the window does (``prepare_attachments`` into a fresh store) and prints, as one JSON
line, what happened and the memory it took.

Run as ``python extract_rss_child.py FILE STORE_DIR``. The peak is Linux's VmHWM, reset (``/proc/self/clear_refs``)
after the imports, so it is the high-water mark of the reading itself; ``baseline_mb`` is the resident size then.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def main(path: Path, store_dir: Path) -> None:
    import docx  # noqa: F401  (imported up front so that their size is not counted as the reading's)
    import PIL.Image  # noqa: F401
    import pypdf  # noqa: F401

    from hearth.core.chat.attachments import AttachmentSource, prepare_attachments
    from hearth.core.errors import HearthError
    from hearth.core.store import Store

    store = Store.open(store_dir / "hearth.db")
    with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
        clear.write("5")  # reset the peak
    baseline = status_kb("VmRSS")
    started = time.perf_counter()
    result: dict[str, object]
    try:
        prepared = prepare_attachments(store, [AttachmentSource(path.name, path)])
        result = {"ok": True, "warnings": [w for d in prepared.documents for w in d.warnings],
                  "chars": sum(len(d.text) for d in prepared.documents), "images": len(prepared.images)}
    except HearthError as exc:
        result = {"ok": False, "error": type(exc).__name__, "message": exc.message, "hint": exc.hint}
    result.update(seconds=round(time.perf_counter() - started, 3), baseline_mb=round(baseline / 1024, 1),
                  peak_mb=round(status_kb("VmHWM") / 1024, 1))
    store.close()
    print(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
