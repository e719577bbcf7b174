"""``hearth chat --attach``: the real CLI, the real engine and the starter model, on documents the test writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hearth.core.models.library.starter import ensure_starter_model
from tests.fixtures.documents import encrypt_pdf, make_docx, make_large_text, make_pdf, meeting_notes, report_pages

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_starter_model(tmp_path_factory.mktemp("models"))


def _hearth(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "app"), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "hearth", *args], capture_output=True, text=True, env=env,
                          timeout=240, stdin=subprocess.DEVNULL, check=False)


def test_attached_pdf_passages_are_used_and_listed(tmp_path: Path, model: Path) -> None:
    pdf = tmp_path / "report.pdf"
    make_pdf(report_pages(40), pdf)
    memo = make_docx(tmp_path / "memo.docx")
    run = _hearth("chat", "--model", str(model), "--attach", str(pdf), "--attach", str(memo), "--prompt",
                  "How many megawatts did the Zanzibar reactor produce?", "--max-tokens", "8",
                  "--temperature", "0", "--ctx", "2048")
    assert run.returncode == 0, run.stderr
    assert "report.pdf: " in run.stderr and " of 80 passages" in run.stderr
    assert "memo.docx: whole document" in run.stderr
    used = [line.strip() for line in run.stderr.splitlines() if line.startswith("  [")]
    labels = [line[1:line.index("]")] for line in used]
    assert "report.pdf p.12" in labels
    assert "Best matches: report.pdf p.12" in run.stderr, "the page with the fact is named first"
    assert any(label.startswith("memo.docx ") for label in labels)
    assert all(label.startswith(("report.pdf p.", "memo.docx ")) for label in labels)
    assert run.stdout.strip()  # the model answered (8 tokens at most)


def test_a_large_text_file_gives_the_line_range_of_the_fact(tmp_path: Path, model: Path) -> None:
    log = make_large_text(tmp_path / "server.log", lines=20_000, fact_line=12_345)
    run = _hearth("chat", "--model", str(model), "--attach", str(log), "--prompt",
                  "When does the backup password rotation happen?", "--max-tokens", "4", "--temperature", "0")
    assert run.returncode == 0, run.stderr
    used = [line.strip() for line in run.stderr.splitlines() if line.startswith("  [server.log lines ")]
    ranges = [tuple(int(n) for n in line[len("[server.log lines "):line.index("]")].split("-")) for line in used]
    assert any(first <= 12_345 <= last for first, last in ranges)


def test_an_encrypted_attachment_fails_before_the_model_loads(tmp_path: Path, model: Path) -> None:
    locked = tmp_path / "locked.pdf"
    encrypt_pdf(make_pdf(["Secret page."]), "pw", locked)
    run = _hearth("chat", "--model", str(model), "--attach", str(locked), "--prompt", "What is secret?")
    assert run.returncode == 1
    assert "locked.pdf is protected with a password" in run.stderr
    assert "Enter the document's password" in run.stderr


def test_attach_whole_sends_the_document_whole_when_the_context_allows(tmp_path: Path, model: Path) -> None:
    pdf = tmp_path / "report.pdf"
    make_pdf(report_pages(30), pdf)
    notes = tmp_path / "notes.txt"
    notes.write_text(meeting_notes())
    question = ("--prompt", "What did the committee decide?", "--max-tokens", "8", "--temperature", "0",
                "--ctx", "2048")
    plain = _hearth("chat", "--model", str(model), "--attach", str(pdf), "--attach", str(notes), *question)
    assert plain.returncode == 0, plain.stderr
    assert "notes.txt: 1 of 6 passages" in plain.stderr
    whole = _hearth("chat", "--model", str(model), "--attach", str(pdf), "--attach-whole", str(notes), *question)
    assert whole.returncode == 0, whole.stderr
    assert "notes.txt: whole document (pinned)" in whole.stderr
    assert "report.pdf: " in whole.stderr and " of 60 passages" in whole.stderr
    too_long = _hearth("chat", "--model", str(model), "--attach-whole", str(pdf), *question)
    assert too_long.returncode == 0, too_long.stderr
    assert "report.pdf: pinned, but too long for this model's context: " in too_long.stderr
    assert "--attach-whole FILE" in _hearth("chat", "--help").stdout
