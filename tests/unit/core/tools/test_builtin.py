"""Hearth's own tools: off unless switched on; the date in a zone; reading only the files the user picked."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from hearth.core.tools.builtin import (
    CALCULATOR,
    DATETIME,
    READ_FILE,
    allowed_path,
    builtin_entries,
    run_builtin,
)
from hearth.core.tools.config import ToolsConfig
from hearth.core.tools.toolbox import Toolbox
from tests.fixtures.documents import make_pdf, report_pages


def test_off_until_switched_on() -> None:
    assert Toolbox(ToolsConfig()).tool_set().entries == []
    entries = builtin_entries(frozenset({CALCULATOR, DATETIME}), ())
    assert [e.name for e in entries] == [CALCULATOR, DATETIME]
    assert all(e.read_only and e.builtin for e in entries)


def test_calculator_and_date() -> None:
    assert run_builtin(CALCULATOR, {"expression": "(3 + 4.5) * 2"}, ()).text == "(3 + 4.5) * 2 = 15"
    assert not run_builtin(CALCULATOR, {"expression": "os.system('x')"}, ()).ok
    fixed = dt.datetime(2025, 3, 30, 0, 30, tzinfo=dt.timezone.utc)
    text = run_builtin(DATETIME, {"timezone": "Europe/Paris"}, (), clock=lambda: fixed).text
    assert "Sunday 30 March 2025" in text and "01:30:00" in text and "UTC+01:00" in text
    assert fixed.astimezone(ZoneInfo("Europe/Paris")).isoformat(timespec="seconds") in text
    assert not run_builtin(DATETIME, {"timezone": "Mars/Olympus"}, (), clock=lambda: fixed).ok


def test_read_file_reads_only_what_was_picked(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Shopping\n\nmilk, eggs\n", encoding="utf-8")
    folder = tmp_path / "papers"
    folder.mkdir()
    pdf = folder / "report.pdf"
    make_pdf(report_pages(3), pdf)
    secret = tmp_path / "secret.txt"
    secret.write_text("the password", encoding="utf-8")
    link = folder / "sneaky.txt"
    os.symlink(secret, link)
    picked = [str(notes), str(folder)]
    entry = builtin_entries(frozenset({READ_FILE}), picked)[0]
    assert str(notes) in entry.description and str(folder) in entry.description
    assert "milk, eggs" in run_builtin(READ_FILE, {"path": str(notes)}, picked).text
    assert "milk, eggs" in run_builtin(READ_FILE, {"path": "notes.md"}, picked).text  # by name
    assert "Page 2" in run_builtin(READ_FILE, {"path": str(pdf)}, picked).text or \
        run_builtin(READ_FILE, {"path": str(pdf)}, picked).ok
    for refused in (str(secret), str(link), str(folder / ".." / "secret.txt"), "/etc/passwd"):
        output = run_builtin(READ_FILE, {"path": refused}, picked)
        assert not output.ok and "not a file the user allowed" in output.text
        assert "the password" not in output.text
    assert allowed_path(str(pdf), picked) == pdf.resolve()


def test_read_file_in_parts(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("".join(f"line {i:05d}\n" for i in range(5000)), encoding="utf-8")
    first = run_builtin(READ_FILE, {"path": str(big)}, [str(big)], limit=2000)
    assert "call again with start=2000" in first.text and "line 00000" in first.text
    second = run_builtin(READ_FILE, {"path": str(big), "start": 2000}, [str(big)], limit=2000)
    assert "characters 2,000 to 4,000" in second.text and "line 00000" not in second.text


def test_schema_lists_picked_files(tmp_path: Path) -> None:
    one = tmp_path / "a.txt"
    one.write_text("a")
    entry = builtin_entries(frozenset({READ_FILE}), [str(one)])[0]
    assert entry.parameters["properties"]["path"]["enum"] == [str(one.resolve())]
    json.dumps(entry.to_openai())
