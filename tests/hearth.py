"""Briefcase's test entry point: ``briefcase dev --test`` (and ``briefcase run --test``) run this module.

It runs pytest on our suite (or on the arguments given after ``--``) and prints the exit marker Briefcase watches for.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def run() -> int:
    tests = Path(__file__).resolve().parent
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.chdir(tests.parent)  # test paths given after `--` are relative to the project
    args = sys.argv[1:] or [str(tests)]
    returncode = int(pytest.main(["--rootdir", str(tests.parent), *args]))
    print(f">>>>>>>>>> EXIT {returncode} <<<<<<<<<<")
    return returncode


if __name__ == "__main__":
    sys.exit(run())
