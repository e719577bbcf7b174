"""Hearth's own log: on this computer only, and without message text unless the user turns on debug logging.

``configure_logging(log_dir, debug=...)`` sends the records of the ``hearth`` loggers to ``<log_dir>/hearth.log``
(rotated at 1 MB, two old files kept). Normally INFO and up: what happened — a model loaded, the engine crashed and
why, an answer failed, a download was verified — never what was said. With debug logging on (Settings), DEBUG
records too: the messages sent to the engine and the answers, and the engine writes the prompts it builds to its own
log, for finding a problem with a conversation.

The rule for code that logs: message text, document text and the names of attached files only ever at DEBUG.
Nothing here sends anything anywhere; there is no crash upload and no telemetry.
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_FILE_NAME = "hearth.log"
MAX_LOG_BYTES = 1_000_000
_HANDLER_NAME = "hearth-log-file"


def configure_logging(log_dir: Path | None, *, debug: bool = False) -> None:
    """Write the app's log to ``log_dir`` (again, with a new level, when the setting changes); None stops it.

    A log folder that cannot be written is no reason not to run: then nothing is logged.
    """
    logger = logging.getLogger("hearth")
    for handler in list(logger.handlers):
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
            handler.close()
    if log_dir is None:
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
        return
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(log_dir / LOG_FILE_NAME, maxBytes=MAX_LOG_BYTES, backupCount=2,
                                      encoding="utf-8", delay=True)
    except OSError:
        return
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False  # the app's log is this file; nothing is passed on to handlers others may install

