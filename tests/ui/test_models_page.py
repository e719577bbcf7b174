"""The Models page on real things: GGUF files in a models folder, the planner, the engine, and downloads from the
loopback Hub (progress, pause/resume/cancel, a gated repository, a full disk, offline mode, a restart)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from hearth.core.engine.plan import LoadPlan
from hearth.core.errors import DiskFullError, GatedRepoError
from hearth.core.models.discover.catalog import listing_age_words
from hearth.core.models.download.state import manifest_path
from hearth.core.models.library.library import InstalledModel
from hearth.core.models.planning.benchmark import BenchResult, save_result
from hearth.core.settings import Settings
from hearth.core.units import format_size
from hearth.ui.model_session import ModelState
from hearth.ui.models.download_row import DownloadRow
from hearth.ui.models.download_task import DownloadTask
from hearth.ui.models.page import DISCOVER, DOWNLOADS
from hearth.ui.shell.settings_dialog import SettingsDialog
from tests.fixtures.hub_fixtures import BIG, GATED, GOOD_TOKEN, TINY
from tests.fixtures.hub_server import HubServer
from tests.ui.models_support import (
    SCOUT_REPO,
    PageHarness,
    age_cached_listing,
    app_paths,
    build_page,
    fill_models_dir,
    no_probe,
    serve_scout_named_tiny,
)
from tests.unit.core.models.download.test_disk import SmallDisk, small_disk  # noqa: F401  (the fixture)


@pytest.fixture
def files(tmp_path: Path, tiny_llama4: Path, starter_model: Path) -> dict[str, Path]:
    return fill_models_dir(tmp_path / "models", tiny_llama4, starter_model)


@pytest.fixture
def harness(qtbot: QtBot, tmp_path: Path, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
            ) -> Iterator[PageHarness]:
    no_probe(monkeypatch)
    h = build_page(qtbot, tmp_path, tmp_path / "models")
    yield h
    h.close(qtbot)


def _download_row(h: PageHarness, task: DownloadTask) -> DownloadRow:
    row = h.page.downloads_view.row_for(task)
    assert row is not None
    return row


def test_a_base_model_is_labelled_and_never_made_the_default(qtbot: QtBot, tmp_path: Path, gemma_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    no_probe(monkeypatch)
    base = tmp_path / "models" / "mine" / gemma_path.name
    base.parent.mkdir(parents=True)
    base.symlink_to(gemma_path)
    h = build_page(qtbot, tmp_path, tmp_path / "models")
    try:
        h.page.start()
        h.wait_idle(qtbot)
        card = h.page.library_view.card_for(base)
        assert card is not None and card.title.text() == "Gemma 3 270M"
        labels = [w.text() for w in card.fit_line.findChildren(type(card.title))]
        assert "Made for completion, not chat" in labels
        assert not card.default_button.isVisibleTo(card)
    finally:
        h.close(qtbot)


def test_lists_installed_models_with_verdicts_speeds_and_found_files(qtbot: QtBot, tmp_path: Path,
                                                                      files: dict[str, Path],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    no_probe(monkeypatch)
    save_result(app_paths(tmp_path).data_dir / "bench", BenchResult(
        model=files["starter"].name, path=str(files["starter"]), plan="CPU", n_ctx=2048, n_threads=2,
        n_gpu_layers=0, load_s=0.7, pp512_tps=900.0, pp4096_tps=None, tg128_tps=48.2, ttft_s=0.06,
        peak_ram_bytes=None, peak_vram_bytes=None, measured_at=0.0))
    elsewhere = tmp_path / "home" / ".lmstudio" / "models" / "someone" / "other-Q8_0.gguf"
    elsewhere.parent.mkdir(parents=True)
    shutil.copyfile(files["tiny"], elsewhere)
    h = build_page(qtbot, tmp_path, tmp_path / "models")
    try:
        h.page.start()
        h.wait_idle(qtbot)
        view = h.page.library_view
        names = sorted(c.title.text() for c in view.cards)
        assert names == ["SmolLM2 135M Instruct", "Tiny Llama4"]
        for card in view.cards:
            fit = h.page.snapshot.fits[card.model.path]
            assert fit.verdict in ("fits_well", "fits_slow") and fit.summary == "CPU", fit
            text = " ".join(w.text() for w in card.fit_line.findChildren(type(card.title)))
            assert "CPU" in text and "tokens/s expected" in text
            assert fit.expected_range is not None and re.search(r"\d–\d[\d.]* tokens/s expected", text), "a range"
            assert "Fits" in text
        starter = view.card_for(files["starter"])
        assert starter is not None
        assert "measured 48.2 tokens/s" in " ".join(w.text() for w in starter.fit_line.findChildren(
            type(starter.title)))
        assert "2 models ready" in view.summary.text()
        # Found elsewhere: LM Studio's folder; "Use in Hearth" links it into the library.
        assert [r.found.path for r in view.found_rows] == [elsewhere]
        with qtbot.waitSignal(h.page.model_imported, timeout=30_000) as imported:
            qtbot.mouseClick(view.found_rows[0].import_button, Qt.MouseButton.LeftButton)
        model = imported.args[0]
        assert isinstance(model, InstalledModel) and model.path.is_symlink()
        qtbot.waitUntil(lambda: len(view.cards) == 3 and not h.page.busy, timeout=30_000)
        assert not view.found_rows, "an imported file is no longer 'found elsewhere'"
    finally:
        h.close(qtbot)


def test_load_unload_default_settings_and_delete_from_the_page(qtbot: QtBot, harness: PageHarness,
                                                                files: dict[str, Path]) -> None:
    h = harness
    h.page.start()
    h.wait_idle(qtbot)
    card = h.page.library_view.card_for(files["starter"])
    assert card is not None and card.load_button.isVisible()
    qtbot.mouseClick(card.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: h.session.state is ModelState.READY, timeout=60_000)
    assert h.session.path == files["starter"]
    card = h.page.library_view.card_for(files["starter"])
    assert card is not None
    assert card.loaded_badge.isVisible() and card.unload_button.isVisible() and not card.load_button.isVisible()

    with qtbot.waitSignal(h.page.default_requested) as default:
        qtbot.mouseClick(card.default_button, Qt.MouseButton.LeftButton)
    assert default.args == [files["starter"]]
    with qtbot.waitSignal(h.page.settings_requested) as settings:
        qtbot.mouseClick(card.settings_button, Qt.MouseButton.LeftButton)
    path, plan = settings.args
    assert path == files["starter"] and isinstance(plan, LoadPlan) and plan.summary == "CPU"
    dialog = QApplication.activeModalWidget()
    assert isinstance(dialog, SettingsDialog) and dialog.model_tab.available, "the model's settings open"
    assert dialog.model_tab.system_prompt.placeholderText() == (
        "Recommended (used when this is empty): You are a helpful assistant. Keep your answers short.")
    dialog.reject()

    qtbot.mouseClick(card.unload_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: h.session.state is ModelState.NONE, timeout=30_000)

    tiny = h.page.library_view.card_for(files["tiny"])
    assert tiny is not None
    size = files["tiny"].stat().st_size
    with qtbot.waitSignal(h.page.model_deleted, timeout=30_000) as deleted:
        qtbot.mouseClick(tiny.delete_button, Qt.MouseButton.LeftButton)
    assert deleted.args == [files["tiny"]] and not files["tiny"].exists()
    assert h.asked and f"frees {format_size(size)} of disk space" in h.asked[0], h.asked
    qtbot.waitUntil(lambda: len(h.page.library_view.cards) == 1 and not h.page.busy, timeout=30_000)


class _UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_open_models_folder_asks_the_desktop(qtbot: QtBot, harness: PageHarness) -> None:
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        qtbot.mouseClick(harness.page.library_view.open_folder_button, Qt.MouseButton.LeftButton)
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [Path(u.toLocalFile()) for u in catcher.urls] == [harness.models_dir]


def test_search_download_with_progress_then_load(qtbot: QtBot, hub: HubServer, tmp_path: Path,
                                                 files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    no_probe(monkeypatch)
    hub.faults.throttle_bps = 3_000_000
    h = build_page(qtbot, tmp_path, tmp_path / "models", endpoint=hub.url)
    try:
        h.page.start()
        h.wait_idle(qtbot)
        disc = h.page.discover_view
        h.page.show_tab(DISCOVER)
        qtbot.keyClicks(disc.search, "tiny")
        qtbot.keyClick(disc.search, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: bool(disc.results) and not h.page.busy, timeout=30_000)
        ids = [r.hit.repo_id for r in disc.results]  # type: ignore[attr-defined]
        assert TINY in ids
        result = disc.results[ids.index(TINY)]
        qtbot.mouseClick(result.files_button, Qt.MouseButton.LeftButton)  # type: ignore[attr-defined]
        qtbot.waitUntil(lambda: disc.card_for(TINY) is not None and not h.page.busy, timeout=30_000)
        card = disc.card_for(TINY)
        assert card is not None and [q.label for q in card.quant_rows] == ["F32"]
        assert card.quant_rows[0].verdict.verdict == "fits_well" and card.quant_rows[0].verdict.exact
        button = card.button_for("F32")
        assert button is not None and button.text() == "Download"
        seen: list[tuple[int, int]] = []
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert h.page.pages.currentIndex() == DOWNLOADS
        (task,) = h.queue.tasks
        task.changed.connect(lambda: seen.append((task.done_bytes, task.total_bytes)))
        qtbot.waitUntil(lambda: task.state == "ready", timeout=60_000)
        mid = [d for d, t in seen if 0 < d < t]
        assert mid, "progress was shown between the first and the last byte"
        row = _download_row(h, task)
        assert "of" in row.detail.text() or "ready" in row.detail.text()
        assert task.include_mmproj, "the vision file comes with a model that has one"
        assert task.job is not None and task.job.mmproj_path is not None and task.job.mmproj_path.is_file()
        qtbot.waitUntil(lambda: any(c.model.repo_id == TINY for c in h.page.library_view.cards)
                        and not h.page.busy, timeout=30_000)
        assert button.text() == "Downloaded"
        assert row.load_button.isVisible()
        qtbot.mouseClick(row.load_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: h.session.state is ModelState.READY, timeout=60_000)
        assert h.session.path == task.model_path
    finally:
        h.close(qtbot)


def test_pause_resume_cancel_and_resume_after_restart(qtbot: QtBot, hub: HubServer, tmp_path: Path,
                                                      files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    no_probe(monkeypatch)
    hub.faults.throttle_bps = 4_000_000
    h = build_page(qtbot, tmp_path, tmp_path / "models", endpoint=hub.url)
    h.page.start()
    h.wait_idle(qtbot)
    task = h.page.start_download(BIG, None)
    row = _download_row(h, task)
    qtbot.waitUntil(lambda: task.done_bytes > 1_000_000, timeout=30_000)
    assert row.pause_button.isVisible() and not row.resume_button.isVisible()
    qtbot.mouseClick(row.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: task.state == "paused" and not task.running, timeout=30_000)
    assert task.job is not None
    part = task.job.local(task.job.manifest.files[0]).with_suffix(".gguf.part")
    kept = part.stat().st_size
    assert 0 < kept < task.total_bytes and row.resume_button.isVisible() and "Paused" in row.state_badge.text()

    qtbot.mouseClick(row.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: task.running and task.done_bytes > kept, timeout=30_000)
    assert hub.requests("/cdn/")[-1].range == f"bytes={kept}-", "resumed where it stopped"
    # The app closes mid-download: the download stops where it is and carries on at the next start.
    h.close(qtbot)
    qtbot.waitUntil(lambda: task.state == "paused", timeout=10_000)
    again = build_page(qtbot, tmp_path, tmp_path / "models", endpoint=hub.url)
    try:
        again.page.start()
        qtbot.waitUntil(lambda: len(again.queue.tasks) == 1, timeout=30_000)
        (restored,) = again.queue.tasks
        assert restored.id == task.id and restored.running, "it was running at exit, so it resumes by itself"
        qtbot.waitUntil(lambda: restored.done_bytes > 2_000_000, timeout=30_000)
        restored_row = _download_row(again, restored)
        qtbot.mouseClick(restored_row.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not again.queue.tasks, timeout=30_000)
        assert restored.state == "cancelled"
        folder = restored.job.folder if restored.job else Path()
        assert not list(folder.rglob("*.part")) and not list(folder.rglob("*.gguf"))
        assert not manifest_path(folder, restored.quant or "").exists()
        assert again.page.downloads_view.row_for(restored) is None
    finally:
        again.close(qtbot)
    # Paused by the user: stays paused after a restart.
    third = build_page(qtbot, tmp_path, tmp_path / "models", endpoint=hub.url)
    try:
        third.page.start()
        third.wait_idle(qtbot)
        assert third.queue.tasks == []
    finally:
        third.close(qtbot)


def test_a_gated_repo_asks_for_a_token_on_the_row_and_works_after_login(
        qtbot: QtBot, hub: HubServer, tmp_path: Path, files: dict[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    no_probe(monkeypatch)
    h = build_page(qtbot, tmp_path, tmp_path / "models", endpoint=hub.url)
    try:
        h.page.start()
        h.wait_idle(qtbot)
        task = h.page.start_download(GATED, None)
        qtbot.waitUntil(lambda: task.state == "failed", timeout=30_000)
        row = _download_row(h, task)
        assert isinstance(task.error, GatedRepoError)
        assert row.token_box.isVisible() and row.message.isVisible()
        assert "accept the licence" in row.message.text().lower()
        qtbot.keyClicks(row.token, "hf_wrong")
        qtbot.mouseClick(row.login_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: row.login_button.isEnabled() and not h.page.busy, timeout=30_000)
        assert "not accepted" in row.message.text() and task.state == "failed"
        row.token.clear()
        qtbot.keyClicks(row.token, GOOD_TOKEN)
        qtbot.keyClick(row.token, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: task.state == "ready", timeout=60_000)
        assert not row.token_box.isVisible()
        assert task.model_path is not None and task.model_path.is_file()
    finally:
        h.close(qtbot)


def test_a_full_disk_is_said_on_the_row_with_how_much_is_missing(
        qtbot: QtBot, hub: HubServer, tmp_path: Path, small_disk: SmallDisk,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    no_probe(monkeypatch)
    small_disk.fill_all_but(10_000_000)  # the 16 MB model cannot fit
    h = build_page(qtbot, tmp_path, small_disk.root / "models", endpoint=hub.url)
    try:
        h.page.start()
        h.wait_idle(qtbot)
        task = h.page.start_download(BIG, None)
        qtbot.waitUntil(lambda: task.state == "failed", timeout=30_000)
        row = _download_row(h, task)
        assert isinstance(task.error, DiskFullError)
        text = row.message.text()
        assert row.message.isVisible() and "Not enough disk space" in text and "Free up 274 MB" in text
        assert row.resume_button.isVisible() and row.resume_button.text() == "Retry"
        assert not hub.requests("/cdn/"), "nothing is fetched when the disk is known to be too small"
        # Space is freed (and no margin asked, on this 24 MB disk); then another program fills it mid-download.
        small_disk.clear()
        h.queue.manager.disk_margin = 0
        hub.faults.throttle_bps = 4_000_000
        qtbot.mouseClick(row.resume_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: task.done_bytes > 3_000_000, timeout=30_000)
        small_disk.fill_all_but(1_000_000)
        qtbot.waitUntil(lambda: task.state == "failed", timeout=30_000)
        assert isinstance(task.error, DiskFullError) and "filled up" in row.message.text()
        assert "kept" in row.message.text() and row.resume_button.text() == "Retry"
        assert task.job is not None
        part = task.job.local(task.job.manifest.files[0]).with_suffix(".gguf.part")
        assert part.stat().st_size > 3_000_000, "the part already downloaded is kept"
        small_disk.clear()
        qtbot.mouseClick(row.resume_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: task.state == "ready", timeout=60_000)
        assert not row.message.isVisible()
        request.node.user_properties.append(("disk", "tmpfs" if small_disk.real else "simulated ENOSPC"))
    finally:
        h.close(qtbot)


def test_offline_shows_the_saved_catalog_with_its_age_and_refuses_to_refresh(
        qtbot: QtBot, hub: HubServer, tmp_path: Path, files: dict[str, Path], tiny_llama4: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    no_probe(monkeypatch)
    serve_scout_named_tiny(hub, tiny_llama4)
    online = build_page(qtbot, tmp_path, tmp_path / "models", endpoint=hub.url)
    try:
        online.page.start()
        online.wait_idle(qtbot)
        online.page.refresh_catalog(network=True)
        qtbot.waitUntil(lambda: not online.page.busy and online.page.rows[0].listing is not None, timeout=30_000)
        scout = online.page.rows[0]
        assert [v.verdict for v in scout.verdicts] == ["fits_well"] and scout.verdicts[0].exact
        assert online.page.recommendation is not None and online.page.recommendation.quant == "UD-IQ1_S"
    finally:
        online.close(qtbot)
    age_cached_listing(tmp_path / "cache", SCOUT_REPO, 3 * 3600 + 60)
    before = len(hub.log)
    h = build_page(qtbot, tmp_path, tmp_path / "models", endpoint=hub.url, offline=True,
                   settings=Settings(offline=True))
    try:
        h.page.start()
        h.wait_idle(qtbot)
        h.page.show_tab(DISCOVER)
        qtbot.waitUntil(lambda: bool(h.page.discover_view.cards), timeout=30_000)
        card = h.page.discover_view.card_for(SCOUT_REPO)
        assert card is not None and card.row.listing is not None
        assert listing_age_words(card.row.listing) == "3 hours ago"
        assert "file list from 3 hours ago" in card.source.text() and "offline" in card.source.text()
        assert card.quant_rows[0].verdict.verdict == "fits_well", "verdicts come from the cached header"
        with qtbot.waitSignal(h.page.notice) as notice:
            qtbot.mouseClick(h.page.discover_view.refresh_button, Qt.MouseButton.LeftButton)
        assert "offline mode" in notice.args[0].text
        assert "offline mode" in h.page.discover_view.note.text() and h.page.discover_view.note.isVisible()
        h.page.search("tiny")
        assert "offline mode" in h.page.discover_view.search_note.text()
        button = card.button_for("UD-IQ1_S")
        assert button is not None
        with qtbot.waitSignal(h.page.notice):
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        assert not h.queue.tasks
        assert len(hub.log) == before, "offline: not one request"
    finally:
        h.close(qtbot)
