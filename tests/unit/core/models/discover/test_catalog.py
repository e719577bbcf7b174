"""The catalog against the loopback Hub: real repository names, Scout-shaped headers read with Range requests,
cached listings with their age, verdicts exact or estimated."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from hearth.core.errors import DownloadError, GatedRepoError, OfflineError
from hearth.core.machine.hardware import Hardware
from hearth.core.models.discover.catalog import CATALOG, CatalogService, find_entry, listing_age_words, scaled_info
from hearth.core.models.hub.client import HubClient
from hearth.core.models.hub.repo_files import RemoteFile, RepoListing, group_quants, quant_label
from tests.fixtures.hub_fixtures import TINY
from tests.fixtures.hub_server import HubServer
from tests.fixtures.synthetic_gguf import SCOUT_QUANTS, write_mmproj, write_scout

SCOUT_REPO = "unsloth/Llama-4-Scout-17B-16E-Instruct-GGUF"


@pytest.fixture(scope="module")
def scout_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("scout-hub")
    files: dict[str, Path] = {}
    for quant in SCOUT_QUANTS:
        paths = write_scout(folder, quant, real_tokens=True)
        sub = f"{quant}/" if len(paths) > 1 else ""
        files.update({sub + p.name: p for p in paths})
    files["mmproj-F16.gguf"] = write_mmproj(folder / "mmproj-F16.gguf")
    return files


@pytest.fixture
def scout_hub(hub: HubServer, scout_files: dict[str, Path]) -> HubServer:
    fake_shas = {p: f"{i:064x}" for i, p in enumerate(scout_files) if not p.startswith("mmproj")}
    hub.add_repo(SCOUT_REPO, dict(scout_files), shas=fake_shas)  # type: ignore[arg-type]
    return hub


def test_catalog_entries_name_repos_and_quants_not_files() -> None:
    assert CATALOG[0].id == "llama4-scout" and CATALOG[0].vision and SCOUT_REPO in CATALOG[0].repos
    assert {"qwen3-30b-a3b", "gpt-oss-20b", "olmoe-1b-7b", "llama4-maverick"} <= {e.id for e in CATALOG}
    for entry in CATALOG:
        assert all("/" in r and not r.endswith(".gguf") for r in entry.repos)
    assert find_entry("LLAMA4-SCOUT") is CATALOG[0] and find_entry(SCOUT_REPO.lower()) is CATALOG[0]


def test_scout_listing_verdicts_exact_and_estimated(scout_hub: HubServer, tmp_path: Path) -> None:
    service = CatalogService(HubClient(endpoint=scout_hub.url), tmp_path / "cache")
    listing = service.listing(SCOUT_REPO, refresh=True)
    assert not listing.gated and listing.mmproj() is not None
    labels = [q.label for q in listing.quants]
    assert labels == list(SCOUT_QUANTS) and listing.quant("UD-Q4_K_XL").is_split
    hw = Hardware.hypothetical(64, 24)
    before = service.verdicts(listing, hw)
    assert {v.verdict for v in before} == {"unknown"}, "no header read yet, and none is fetched by verdicts()"
    info = service.header(listing, listing.quant("UD-Q2_K_XL"))
    assert info.block_count == 48 and info.vocab_size == 202048
    header_bytes = sum(r.sent for r in scout_hub.requests("/cdn/"))
    assert 2_000_000 < header_bytes < 8_000_000, "the ~2.6 MB header (202,048 tokens) was read in growing ranges"
    after = {v.quant.label: v for v in service.verdicts(listing, hw)}
    assert after["UD-Q2_K_XL"].exact and not after["UD-Q4_K_XL"].exact
    assert all(v.verdict == "fits_well" for v in after.values())
    assert "estimated from its size" in after["UD-Q4_K_XL"].explanation
    laptop = service.verdicts(listing, Hardware.hypothetical(16))
    assert {v.verdict for v in laptop} == {"does_not_fit"}


def test_a_gated_header_needs_a_token(hub: HubServer, tmp_path: Path) -> None:
    from tests.fixtures.hub_fixtures import GATED, GOOD_TOKEN

    service = CatalogService(HubClient(endpoint=hub.url), tmp_path / "cache")
    listing = service.listing(GATED)
    assert listing.gated == "manual"
    with pytest.raises(GatedRepoError):
        service.header(listing, listing.quant(None))
    signed_in = CatalogService(HubClient(endpoint=hub.url, token=GOOD_TOKEN), tmp_path / "cache")
    assert signed_in.header(listing, listing.quant(None)).architecture == "llama4"


def test_cached_listing_is_used_offline_with_its_age(hub: HubServer, tmp_path: Path) -> None:
    online = CatalogService(HubClient(endpoint=hub.url), tmp_path / "cache")
    fresh = online.listing(TINY, refresh=True)
    offline = CatalogService(HubClient(endpoint=hub.url, offline=True), tmp_path / "cache")
    before = len(hub.log)
    cached = offline.listing(TINY)
    assert cached.from_cache and cached.files == fresh.files and len(hub.log) == before
    with pytest.raises(OfflineError):
        offline.listing(TINY, refresh=True)
    assert listing_age_words(cached, now=cached.fetched_at + 3 * 3600 + 5) == "3 hours ago"
    assert listing_age_words(cached, now=cached.fetched_at + 10) == "just now"
    assert offline.listing(TINY).age_s(time.time() + 60) >= 60


def test_unknown_repository_and_quant_are_plain_errors(hub: HubServer) -> None:
    client = HubClient(endpoint=hub.url)
    with pytest.raises(DownloadError, match="was not found"):
        client.listing("nobody/nothing-GGUF")
    with pytest.raises(DownloadError, match="has no Q9_K file") as info:
        client.listing(TINY).quant("Q9_K")
    assert "Available: F32" in info.value.hint
    with pytest.raises(DownloadError, match="not a Hugging Face repository"):
        client.listing("../etc/passwd")


def test_quant_labels_and_grouping() -> None:
    assert quant_label("UD-Q4_K_XL/Llama-4-Scout-17B-16E-Instruct-UD-Q4_K_XL-00001-of-00002.gguf") == "UD-Q4_K_XL"
    assert quant_label("gpt-oss-20b-mxfp4.gguf") == "MXFP4"
    assert quant_label("olmoe-1b-7b-0924-instruct-q4_k_m.gguf") == "Q4_K_M"
    files = [RemoteFile("a/m-Q8_0-00002-of-00002.gguf", 5), RemoteFile("a/m-Q8_0-00001-of-00002.gguf", 5),
             RemoteFile("m-Q4_K_M.gguf", 6), RemoteFile("mmproj-BF16.gguf", 1), RemoteFile("mmproj-F16.gguf", 1),
             RemoteFile("README.md", 1)]
    quants = group_quants(files)
    assert [(q.label, q.size) for q in quants] == [("Q4_K_M", 6), ("Q8_0", 10)]
    assert quants[1].first.path.endswith("00001-of-00002.gguf") and quants[1].complete
    listing = RepoListing("o/r", "abc", False, tuple(files))
    assert listing.quant(None).label == "Q4_K_M" and listing.mmproj() == files[4]
    incomplete = group_quants([RemoteFile("m-Q8_0-00001-of-00003.gguf", 5)])
    assert not incomplete[0].complete


def test_scaled_estimate_keeps_the_shape(tiny_llama4: Path) -> None:
    from hearth.core.gguf.header import read_gguf_info

    info = read_gguf_info(tiny_llama4)
    double = scaled_info(info, 2 * tiny_llama4.stat().st_size)
    assert double.block_count == info.block_count
    assert double.tensor_bytes == pytest.approx(2 * info.tensor_bytes, rel=0.02)


def test_an_unreachable_hub_is_a_plain_error_after_retries(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    waits: list[float] = []
    client = HubClient(endpoint=f"http://127.0.0.1:{port}", sleep=waits.append, retries=2)
    from huggingface_hub import constants

    offline, constants.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE, False
    try:
        with pytest.raises(DownloadError, match="could not be reached"):
            client.listing(TINY)
    finally:
        constants.HF_HUB_OFFLINE = offline
    assert waits == [1.0, 2.0]


def test_paths_info_through_the_real_client(hub: HubServer, hub_files: dict[str, Path]) -> None:
    import hashlib

    (entry,) = HubClient(endpoint=hub.url).api.get_paths_info(TINY, ["tiny-llama4-F32.gguf"])
    assert entry.lfs is not None and entry.lfs.sha256 == hashlib.sha256(hub_files["single"].read_bytes()).hexdigest()


def test_catalog_and_plan_commands(scout_hub: HubServer, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from hearth.cli.main import main

    monkeypatch.setenv("HF_ENDPOINT", scout_hub.url)
    assert main(["models", "catalog", "--refresh", "--json", "--ram-gb", "64", "--vram-gb", "24"]) in (0, 1)
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    scout = rows["llama4-scout"]
    assert scout["repo"] == SCOUT_REPO and [q["label"] for q in scout["quants"]] == list(SCOUT_QUANTS)
    assert {q["verdict"] for q in scout["quants"]} == {"unknown"}
    assert rows["qwen3-30b-a3b"]["repo"] is None, "repositories the Hub does not have are reported, not invented"

    assert main(["models", "plan", "llama4-scout:UD-Q2_K_XL", "--ram-gb", "64", "--vram-gb", "24"]) == 0
    assert "Verdict: fits well." in capsys.readouterr().out
    assert main(["models", "catalog", "--json", "--ram-gb", "64", "--vram-gb", "24"]) == 0
    quants = {q["label"]: q for q in json.loads(capsys.readouterr().out)[0]["quants"]}
    assert quants["UD-Q2_K_XL"]["exact"] and quants["UD-Q4_K_XL"]["verdict"] in ("fits_well", "fits_slow")
    assert not quants["UD-Q4_K_XL"]["exact"]
    assert main(["models", "plan", "llama4-scout", "--ram-gb", "16", "--vram-gb", "0"]) == 0
    table = capsys.readouterr().out
    assert table.count("does not fit") == 5 and "*" in table, "estimated rows are marked"
