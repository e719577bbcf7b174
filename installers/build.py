"""Build Hearth's installers from the matrix in the top-level ``briefcase.toml``.

Examples::

    python installers/build.py --list
    python installers/build.py --platform linux --variant cpu                      # .deb/.rpm/AppImage/Flatpak
    python installers/build.py --platform windows --variant cuda --wheels wheels/cu124
    python installers/build.py --platform linux --variant cpu --format system:deb --template ~/briefcase-linux-system-template
    python installers/build.py --platform macOS --variant metal --dry-run          # print the Briefcase commands

Each run is ``briefcase create``, ``build`` and ``package`` for one (platform, variant, format), with ``-C`` overrides
that choose the llama-cpp-python build. All variants are the same app: installing one replaces another, and
``hearth doctor`` (and the status bar) says which llama.cpp backend the installed build has.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
MATRIX = ROOT / "briefcase.toml"


@dataclass(frozen=True)
class Variant:
    name: str
    title: str
    description: str
    cmake: str = ""
    index: str = ""


@dataclass(frozen=True)
class Format:
    output: str
    package: str = ""

    @property
    def label(self) -> str:
        return f"{self.output}:{self.package}" if self.package else self.output


@dataclass(frozen=True)
class Platform:
    name: str
    variants: tuple[str, ...]
    formats: tuple[Format, ...]
    source_build: bool


@dataclass(frozen=True)
class Matrix:
    variants: dict[str, Variant]
    platforms: dict[str, Platform]

    def entries(self) -> list[tuple[Platform, Variant, Format]]:
        return [
            (platform, self.variants[v], fmt)
            for platform in self.platforms.values()
            for v in platform.variants
            for fmt in platform.formats
        ]


def load_matrix(path: Path = MATRIX) -> Matrix:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    variants = {
        name: Variant(name, v["title"], v["description"], v.get("cmake", ""), v.get("index", ""))
        for name, v in data["variants"].items()
    }
    platforms = {}
    for name, p in data["platforms"].items():
        unknown = [v for v in p["variants"] if v not in variants]
        if unknown:
            raise ValueError(f"platform {name} names unknown variants: {unknown}")
        formats = tuple(Format(f["output"], f.get("package", "")) for f in p["formats"])
        platforms[name] = Platform(name, tuple(p["variants"]), formats, bool(p.get("source_build", False)))
    return Matrix(variants, platforms)


@dataclass
class Plan:
    """The commands and environment for one installer."""

    commands: list[list[str]]
    env: dict[str, str] = field(default_factory=dict)


def _toml_value(value: Any) -> str:
    return json.dumps(value)  # JSON strings and lists of strings are valid TOML values


def plan_build(
    platform: Platform,
    variant: Variant,
    fmt: Format,
    *,
    wheels: Path | None = None,
    template: Path | None = None,
) -> Plan:
    """The Briefcase commands that build one installer.

    Raises:
        ValueError: the combination cannot be built as asked (e.g. Windows without a wheel source).
    """
    installer_args: list[str] = []
    env: dict[str, str] = {}
    if wheels is not None:
        installer_args += ["--find-links", str(wheels), "--only-binary", "llama-cpp-python"]
    elif variant.index:
        installer_args += ["--extra-index-url", variant.index]
        if not platform.source_build:
            installer_args += ["--only-binary", "llama-cpp-python"]
    elif platform.source_build:
        # pip keys the wheels it builds by the source archive, not by CMAKE_ARGS: without --no-cache-dir a wheel
        # built for another variant (or without RPC) would be reused silently.
        installer_args += ["--no-binary", "llama-cpp-python", "--no-cache-dir"]
        env["CMAKE_ARGS"] = variant.cmake
        env["FORCE_CMAKE"] = "1"
    elif variant.name in ("metal", "cpu") and platform.name == "macOS":
        installer_args += ["--only-binary", "llama-cpp-python"]  # PyPI wheels for macOS carry Metal
    else:
        raise ValueError(
            f"{platform.name} installers need prebuilt llama-cpp-python wheels for the {variant.name} variant: "
            "pass --wheels FOLDER (build them on that platform with CMAKE_ARGS from briefcase.toml)."
        )
    # Every variant is the same app ("hearth"): installing another variant replaces the one installed.
    overrides = ["-C", f"requirement_installer_args={_toml_value(installer_args)}"]
    if template is not None:
        overrides += ["-C", f"template={_toml_value(str(template))}"]
    target = [platform.name, fmt.output]
    package = ["briefcase", "package", *target, "--update", "--no-input"]
    if fmt.package:
        package += ["--packaging-format", fmt.package]
    if platform.name == "macOS":
        package += ["--adhoc-sign"]  # real signing: see installers/macos.md
    commands = [
        ["briefcase", "create", *target, "--no-input", *overrides],
        ["briefcase", "build", *target, "--no-input", *overrides],
        [*package, *overrides],
    ]
    return Plan(commands, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="list the matrix and exit")
    parser.add_argument("--platform", choices=["linux", "windows", "macOS"])
    parser.add_argument("--variant")
    parser.add_argument("--format", help="output[:package], e.g. system:deb (default: all the platform's formats)")
    parser.add_argument("--wheels", type=Path, help="folder with a prebuilt llama-cpp-python wheel for this variant")
    parser.add_argument("--template", type=Path, help="local checkout of Briefcase's template (offline builds)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    args = parser.parse_args(argv)
    matrix = load_matrix()
    if args.list:
        for platform, variant, fmt in matrix.entries():
            print(f"{platform.name:8} {variant.name:7} {fmt.label:14} {variant.description}")
        return 0
    if not args.platform or not args.variant:
        parser.error("--platform and --variant are required (or --list)")
    platform = matrix.platforms[args.platform]
    if args.variant not in platform.variants:
        parser.error(f"{args.platform} ships these variants: {', '.join(platform.variants)}")
    variant = matrix.variants[args.variant]
    formats = [f for f in platform.formats if args.format in (None, f.label, f.output)]
    if not formats:
        parser.error(f"{args.platform} has these formats: {', '.join(f.label for f in platform.formats)}")
    for fmt in formats:
        try:
            plan = plan_build(platform, variant, fmt, wheels=args.wheels, template=args.template)
        except ValueError as exc:
            parser.error(str(exc))
        env_text = " ".join(f"{k}={shlex.quote(v)}" for k, v in plan.env.items())
        for command in plan.commands:
            print(f"$ {env_text + ' ' if env_text else ''}{shlex.join(command)}", flush=True)
            if not args.dry_run:
                # The Briefcase of the Python running this script, whether or not its bin folder is on PATH.
                subprocess.run([sys.executable, "-m", *command], cwd=ROOT, env={**os.environ, **plan.env}, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
