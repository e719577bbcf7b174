"""``hearth models``: search, catalog, plan, download, list, import and remove models."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path

from hearth.cli import model_download, model_plan
from hearth.cli.common import app_paths, current_settings, models_dir, print_error
from hearth.core.errors import HearthError, OfflineError
from hearth.core.models.discover.catalog import CATALOG, CatalogService, listing_age_words
from hearth.core.models.hub.client import HubClient
from hearth.core.models.library.library import ModelLibrary
from hearth.core.paths import AppPaths
from hearth.core.units import format_size


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("models", help="find, plan, download and manage models",
                            description="Find models on Hugging Face, see whether they fit, download and manage them.")
    cmds = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    p = cmds.add_parser("search", help="search Hugging Face for GGUF models")
    p.add_argument("text")
    p.add_argument("--limit", type=int, default=20, metavar="N")
    p.add_argument("--json", action="store_true")

    p = cmds.add_parser("catalog", help="Hearth's recommended models and how well each fits this computer")
    p.add_argument("--refresh", action="store_true", help="ask Hugging Face for current file lists")
    p.add_argument("--json", action="store_true")
    model_plan.add_machine_arguments(p)

    p = cmds.add_parser("plan", help="will a model fit, and how fast will it run?")
    p.add_argument("model", metavar="MODEL_OR_PATH", help="a .gguf path, a catalog id, or REPO[:QUANT]")
    p.add_argument("--json", action="store_true")
    p.add_argument("--matrix", action="store_true", help="plan for a set of typical machines (a Markdown table)")
    p.add_argument("--refresh", action="store_true", help="ask Hugging Face again instead of using cached lists")
    model_plan.add_machine_arguments(p)
    model_plan.add_worker_arguments(p)

    p = cmds.add_parser("download", help="download REPO[:QUANT] (resumes; verifies every file)")
    p.add_argument("model", metavar="REPO[:QUANT]", help="a repository (or catalog id), optionally :QUANT")
    p.add_argument("--include-mmproj", action="store_true", help="also download the vision projector")
    p.add_argument("--json", action="store_true", help="progress as JSON lines on stdout")

    p = cmds.add_parser("list", help="models on this computer")
    p.add_argument("--json", action="store_true")
    p.add_argument("--discover", action="store_true", help="also look in Hugging Face's cache and LM Studio")

    p = cmds.add_parser("remove", help="delete a model's files")
    p.add_argument("model", help="a path, a name from `hearth models list`, or REPO:QUANT")
    p.add_argument("--yes", action="store_true", help="do not ask")

    p = cmds.add_parser("import", help="add a GGUF file from elsewhere (checked first)")
    p.add_argument("path", type=Path)
    p.add_argument("--link", action="store_true", help="link to the file instead of copying it")

    p = cmds.add_parser("login", help="store a Hugging Face token (for gated models like Llama 4)")
    p.add_argument("--token", help="the token (default: asked for, not echoed)")
    cmds.add_parser("logout", help="forget the stored Hugging Face token")


def hub_client(paths: AppPaths) -> HubClient:
    return HubClient(offline=current_settings(paths).offline)


def catalog_service(paths: AppPaths) -> CatalogService:
    return CatalogService(hub_client(paths), paths.cache_dir)


def library(paths: AppPaths) -> ModelLibrary:
    return ModelLibrary(models_dir(paths, current_settings(paths)))


def run(args: argparse.Namespace) -> int:
    handlers: dict[str, Callable[[argparse.Namespace, AppPaths], int]] = {
        "search": _search, "catalog": _catalog, "plan": model_plan.run, "download": model_download.run,
        "list": _list, "remove": _remove, "import": _import, "login": _login, "logout": _logout,
    }
    paths = app_paths()
    try:
        return handlers[args.models_command](args, paths)
    except HearthError as exc:
        print_error(exc)
        return 1


def _search(args: argparse.Namespace, paths: AppPaths) -> int:
    hits = hub_client(paths).search(args.text, limit=args.limit)
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], indent=2))
        return 0
    if not hits:
        print(f"No GGUF models match {args.text!r}.")
    for h in hits:
        gated = "  [gated: needs a token]" if h.gated else ""
        vision = "  [vision]" if h.has_mmproj else ""
        print(f"{h.repo_id}  ↓{h.downloads:,}{gated}{vision}")
        print(f"    quants: {', '.join(h.quants) or '(none listed)'}")
    return 0


def _catalog(args: argparse.Namespace, paths: AppPaths) -> int:
    service = catalog_service(paths)
    hw = model_plan.machine_from_args(args, paths)
    rows = []
    refresh = args.refresh
    for entry in CATALOG:
        listing = None
        for repo in entry.repos:
            try:
                listing = service.listing(repo, refresh=True) if refresh else service.cached_listing(repo)
            except OfflineError as exc:
                print_error(exc)
                refresh = False  # say it once; show what is cached
                listing = service.cached_listing(repo)
            except HearthError as exc:
                print_error(exc)
                continue
            if listing is not None:
                break
        verdicts = service.verdicts(listing, hw, n_ctx=args.ctx, wanted=entry.quants) if listing else []
        rows.append((entry, listing, verdicts))
    if args.json:
        print(json.dumps([{"id": e.id, "name": e.name, "repos": list(e.repos), "vision": e.vision,
                           "listing_age_s": listing.age_s() if listing else None, "repo": listing.repo_id if listing
                           else None, "quants": [v.to_dict() for v in verdicts]} for e, listing, verdicts in rows],
                         indent=2))
        return 0
    for entry, listing, verdicts in rows:
        print(f"{entry.id}: {entry.name}{'  [vision]' if entry.vision else ''}")
        print(f"    {entry.blurb}")
        if listing is None:
            print("    (not fetched yet: run `hearth models catalog --refresh`)")
            continue
        print(f"    {listing.repo_id} — file list from {listing_age_words(listing)}")
        for v in verdicts:
            print(f"    {v.quant.label:<12} {format_size(v.quant.size):>9}  {v.verdict.replace('_', ' '):<13} "
                  f"{v.explanation}")
    return 0


def _list(args: argparse.Namespace, paths: AppPaths) -> int:
    lib = library(paths)
    models = lib.models()
    found = lib.discover() if args.discover else []
    if args.json:
        print(json.dumps({
            "models": [{"name": m.name, "path": str(m.path), "state": m.state.value, "size": m.size_bytes,
                        "total": m.total_bytes, "repo_id": m.repo_id, "quant": m.quant, "files": [str(f) for f in
                        m.files], "mmproj": str(m.mmproj) if m.mmproj else None, "problem": m.problem}
                       for m in models],
            "found": [{"path": str(f.path), "source": f.source, "size": f.size_bytes} for f in found],
        }, indent=2))
        return 0
    if not models:
        print(f"No models in {lib.models_dir} yet. Try `hearth models catalog`.")
    for m in models:
        progress = "" if m.usable else f" {m.size_bytes / max(1, m.total_bytes):.0%}"
        extra = f" — {m.problem}" if m.problem else ""
        print(f"{m.state.value:<11}{progress:>5}  {format_size(m.total_bytes):>9}  {m.name}{extra}")
        print(f"                   {m.path}{'  + vision projector' if m.mmproj else ''}")
    if args.discover:
        print("\nFound elsewhere (import with `hearth models import PATH --link`):" if found else
              "\nNo GGUF files found in Hugging Face's cache or LM Studio's folders.")
        for f in found:
            print(f"  {format_size(f.size_bytes):>9}  {f.path}  ({f.source})")
    return 0


def _remove(args: argparse.Namespace, paths: AppPaths) -> int:
    lib = library(paths)
    model = lib.find(args.model)
    if model is None:
        print(f"hearth: no model called {args.model!r} (see `hearth models list`).", file=sys.stderr)
        return 1
    if not args.yes:
        answer = input(f"Delete {model.name} ({format_size(model.size_bytes)})? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            return 1
    freed = lib.remove(model)
    print(f"Removed {model.name}: {format_size(freed)} freed.")
    return 0


def _import(args: argparse.Namespace, paths: AppPaths) -> int:
    model = library(paths).import_model(args.path, link=args.link)
    print(f"Imported {model.name} ({'linked' if args.link else 'copied'}): {model.path}")
    return 0


def _login(args: argparse.Namespace, paths: AppPaths) -> int:
    token = args.token or getpass.getpass("Hugging Face token (from https://huggingface.co/settings/tokens): ")
    name = hub_client(paths).login(token.strip())
    print(f"Signed in to Hugging Face as {name}. The token is kept by huggingface_hub, not by Hearth.")
    return 0


def _logout(args: argparse.Namespace, paths: AppPaths) -> int:
    HubClient.logout()
    print("Signed out of Hugging Face.")
    return 0
