"""Make sure this Python's llama-cpp-python can use worker computers (llama.cpp's RPC backend, ``-DGGML_RPC=on``).

Run it with the Python that runs Hearth, before ``pip install -e .`` (the README's set-up commands do):

    .venv/bin/python installers/llama_rpc.py

llama-cpp-python is built from source on Linux, and pip keys the wheels it builds by the source archive's address,
not by the build flags: a wheel built once without RPC (by this or any other project) is reused silently for every
later install. So this script checks the result instead of trusting the flags:

1. llama-cpp-python is installed and has RPC: nothing to do (no network).
2. Otherwise it is installed with ``CMAKE_ARGS`` plus ``-DGGML_RPC=on`` (a build of your own, e.g. CUDA, keeps its
   flags); if the result still lacks RPC, pip's cache held a wheel built without it: that wheel is removed from the
   cache (``pip cache remove llama_cpp_python``) and llama-cpp-python is built again, and cached with RPC.

Exit status 0 when llama-cpp-python has RPC afterwards, 1 otherwise (with the reason).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RPC_FLAG = "-DGGML_RPC=on"
_CHECK = ("import sys, llama_cpp as L\n"
          "sys.exit(0 if L.llama_cpp._lib.ggml_backend_reg_by_name and L.llama_supports_rpc() else 3)")


def requirement() -> str:
    """llama-cpp-python's requirement as pyproject.toml states it (e.g. ``llama-cpp-python>=0.3.36,<0.4``)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r'"(llama-cpp-python[^";]*)"', text)
    return match.group(1) if match else "llama-cpp-python"


def state(python: str = sys.executable) -> str:
    """"rpc", "no-rpc" or "missing"."""
    done = subprocess.run([python, "-c", _CHECK], capture_output=True, check=False)
    if done.returncode == 0:
        return "rpc"
    return "no-rpc" if done.returncode == 3 else "missing"


def build_env() -> dict[str, str]:
    env = dict(os.environ)
    flags = env.get("CMAKE_ARGS", "")
    if "GGML_RPC" not in flags:
        flags = f"{flags} {RPC_FLAG}".strip()
    env["CMAKE_ARGS"] = flags
    return env


def pip(*args: str, env: dict[str, str] | None = None) -> int:
    command = [sys.executable, "-m", "pip", *args]
    print("+", " ".join(command), flush=True)
    return subprocess.run(command, env=env, check=False).returncode


def main() -> int:
    found = state()
    if found == "rpc":
        print("llama-cpp-python can use worker computers (RPC): nothing to do.")
        return 0
    env = build_env()
    print(f"llama-cpp-python {'lacks RPC' if found == 'no-rpc' else 'is not installed'}: installing it with "
          f"CMAKE_ARGS=\"{env['CMAKE_ARGS']}\" (a source build takes a few minutes).", flush=True)
    reinstall = ["--force-reinstall", "--no-deps"] if found == "no-rpc" else []
    if pip("install", *reinstall, requirement(), env=env) == 0 and state() == "rpc":
        return 0
    print("pip reused a llama-cpp-python wheel built without RPC from its cache: removing it and building again.",
          flush=True)
    pip("cache", "remove", "llama_cpp_python")
    if pip("install", "--force-reinstall", "--no-deps", "--no-binary", "llama-cpp-python", requirement(),
           env=env) == 0 and state() == "rpc":
        return 0
    print("hearth: llama-cpp-python could not be built with RPC; Hearth works, but without worker computers. "
          "See the build's output above (a C/C++ compiler and CMake are needed).", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
