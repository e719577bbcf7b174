"""Packaging checks that run here: the installer matrix, the build plans, and ``briefcase dev --test``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "installers"))

import build as installers  # noqa: E402


def test_matrix_covers_every_variant_on_the_platforms_that_can_run_it() -> None:
    matrix = installers.load_matrix()
    assert set(matrix.variants) == {"cpu", "cuda", "metal", "vulkan"}
    shipped = {(p.name, v.name) for p, v, _ in matrix.entries()}
    assert {("linux", "cpu"), ("linux", "cuda"), ("linux", "vulkan")} <= shipped
    assert {("windows", "cpu"), ("windows", "cuda"), ("windows", "vulkan")} <= shipped
    assert {("macOS", "metal"), ("macOS", "cpu")} <= shipped
    formats = {(p.name, f.label) for p, _, f in matrix.entries()}
    assert {("linux", "system:deb"), ("linux", "system:rpm"), ("linux", "appimage"), ("linux", "flatpak"),
            ("windows", "app:msi"), ("macOS", "app:dmg")} <= formats


def test_every_variant_builds_llama_cpp_with_rpc() -> None:
    """Worker computers need llama.cpp's RPC backend in every installer."""
    for variant in installers.load_matrix().variants.values():
        assert "-DGGML_RPC=ON" in variant.cmake.split(), variant.name


def test_build_plans_choose_the_llama_cpp_build() -> None:
    matrix = installers.load_matrix()
    linux, windows = matrix.platforms["linux"], matrix.platforms["windows"]
    deb = next(f for f in linux.formats if f.label == "system:deb")
    source = installers.plan_build(linux, matrix.variants["vulkan"], deb)
    assert source.env["CMAKE_ARGS"].startswith("-DGGML_VULKAN=ON")
    assert source.commands[2][:4] == ["briefcase", "package", "linux", "system"]
    assert "--packaging-format" in source.commands[2] and "deb" in source.commands[2]
    wheels = installers.plan_build(windows, matrix.variants["cuda"], windows.formats[0], wheels=Path("w"))
    override = next(a for a in wheels.commands[0] if a.startswith("requirement_installer_args="))
    assert '"--find-links", "w", "--only-binary", "llama-cpp-python"' in override
    with pytest.raises(ValueError, match="--wheels"):
        installers.plan_build(windows, matrix.variants["vulkan"], windows.formats[0])
    assert "--no-cache-dir" in next(a for a in source.commands[0] if a.startswith("requirement_installer_args="))
    offline = installers.plan_build(linux, matrix.variants["cpu"], deb, template=Path("/t/linux-system"))
    assert '-C' in offline.commands[0] and 'template="/t/linux-system"' in offline.commands[0]


def test_icons_exist_for_every_platform() -> None:
    icons = ROOT / "resources" / "icons"
    for name in ("hearth.ico", "hearth.icns", *(f"hearth-{s}.png" for s in (16, 32, 64, 128, 256, 512))):
        assert (icons / name).stat().st_size > 0, name


@pytest.mark.skipif(shutil.which("briefcase", path=str(Path(sys.executable).parent)) is None,
                    reason="briefcase is not installed in this environment")
def test_briefcase_dev_test_runs_our_suite_and_starts_the_engine() -> None:
    """``briefcase dev --test`` builds its own dev environment and runs tests/hearth.py; the engine host starts."""
    briefcase = str(Path(sys.executable).parent / "briefcase")
    result = subprocess.run(
        [briefcase, "dev", "--test", "--no-input", "--", "tests/unit/core/engine/test_launch.py",
         "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "1 passed" in output and "Test suite passed" in output


def test_the_set_up_commands_make_sure_of_an_rpc_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's set-up runs installers/llama_rpc.py first; on a build with RPC it does nothing (no network)."""
    import llama_rpc

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = ("python3 -m venv .venv && .venv/bin/python installers/llama_rpc.py && .venv/bin/pip install -e "
                    "'.[test]' && .venv/bin/python -m pytest")
    assert test_command in readme and test_command in ci
    assert ".venv/bin/python installers/llama_rpc.py && .venv/bin/pip install -e . && .venv/bin/hearth" in readme
    assert llama_rpc.requirement().startswith("llama-cpp-python>=")
    monkeypatch.setenv("CMAKE_ARGS", "-DGGML_CUDA=ON")
    assert llama_rpc.build_env()["CMAKE_ARGS"] == "-DGGML_CUDA=ON -DGGML_RPC=on", "the user's own flags are kept"
    assert llama_rpc.state() == "rpc"
    done = subprocess.run([sys.executable, str(ROOT / "installers" / "llama_rpc.py")], capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 0 and "nothing to do" in done.stdout
