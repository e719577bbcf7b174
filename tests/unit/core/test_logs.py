"""The app's log: INFO without message text normally, DEBUG with it only when the user asks; both logs rotate."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

from hearth.core.engine import EngineClient
from hearth.core.logs import LOG_FILE_NAME, MAX_LOG_BYTES, configure_logging


@pytest.fixture(autouse=True)
def stop_logging() -> Iterator[None]:
    yield
    configure_logging(None)


def test_debug_records_only_with_debug_logging(tmp_path: Path) -> None:
    log = logging.getLogger("hearth.test")
    configure_logging(tmp_path, debug=False)
    log.info("an answer finished")
    log.debug("the answer said: tangerine")
    configure_logging(tmp_path, debug=True)
    log.debug("the answer said: clementine")
    configure_logging(None)
    text = (tmp_path / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "an answer finished" in text and "clementine" in text
    assert "tangerine" not in text


def test_the_app_log_rotates(tmp_path: Path) -> None:
    configure_logging(tmp_path, debug=False)
    log = logging.getLogger("hearth.test")
    for _ in range(3 * MAX_LOG_BYTES // 1000):
        log.info("x" * 1000)
    configure_logging(None)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == [LOG_FILE_NAME, LOG_FILE_NAME + ".1", LOG_FILE_NAME + ".2"]
    assert all((tmp_path / name).stat().st_size <= MAX_LOG_BYTES + 2000 for name in files)


def test_an_unwritable_log_folder_is_no_reason_to_fail(tmp_path: Path) -> None:
    before = tmp_path / "before"
    configure_logging(before, debug=False)  # the log worked, then the setting moved it somewhere unwritable
    logging.getLogger("hearth.test").warning("written before")
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the folder should be")
    configure_logging(blocker, debug=True)
    logging.getLogger("hearth.test").warning("nowhere to go")  # logging on does not raise
    assert blocker.read_text() == "a file where the folder should be", "nothing written over what is there"
    assert not [h for h in logging.getLogger("hearth").handlers if isinstance(h, RotatingFileHandler)]
    text = (before / LOG_FILE_NAME).read_text(encoding="utf-8")
    assert "written before" in text and "nowhere to go" not in text, "the old log is closed, not written on"


def test_engine_log_is_set_aside_when_it_grew_large(tmp_path: Path) -> None:
    from hearth.core.engine.client import ENGINE_LOG_MAX_BYTES

    engine_log = tmp_path / "engine.log"
    engine_log.write_bytes(b"old line\n" * (ENGINE_LOG_MAX_BYTES // 9 + 1))
    with EngineClient(log_path=engine_log) as client:
        client.start()
    assert (tmp_path / "engine.log.1").stat().st_size > ENGINE_LOG_MAX_BYTES
    assert engine_log.stat().st_size < ENGINE_LOG_MAX_BYTES
