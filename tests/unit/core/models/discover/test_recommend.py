"""What to offer a machine: catalog rows from the loopback Hub (Scout-shaped headers with unsloth's sizes), the
recommendation for several machines, the fallback with its reason, and what needs the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from hearth.core.machine.hardware import Hardware
from hearth.core.models.discover.catalog import CATALOG, CatalogService, find_entry
from hearth.core.models.discover.recommend import CatalogRow, catalog_rows, needs_network, recommend, scout_problem
from hearth.core.models.hub.client import HubClient
from tests.fixtures.hub_server import HubServer
from tests.fixtures.synthetic_gguf import SCOUT_QUANTS, write_dense_llama, write_mmproj, write_scout

SCOUT_REPO = "unsloth/Llama-4-Scout-17B-16E-Instruct-GGUF"
OLMOE_REPO = "allenai/OLMoE-1B-7B-0125-Instruct-GGUF"


@pytest.fixture(scope="module")
def served_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    folder = tmp_path_factory.mktemp("recommend-hub")
    scout: dict[str, Path] = {}
    for quant in SCOUT_QUANTS:
        paths = write_scout(folder, quant)
        sub = f"{quant}/" if len(paths) > 1 else ""
        scout.update({sub + p.name: p for p in paths})
    scout["mmproj-F16.gguf"] = write_mmproj(folder / "mmproj-F16.gguf")
    # A small model under OLMoE's name (a dense Llama-shaped header of about its size) as the fallback.
    small = write_dense_llama(folder / "olmoe", n_layer=16, n_embd=2048, n_ff=8192, n_head=16, n_head_kv=16,
                              vocab=50304, name="OLMoE-1B-7B-0125-Instruct")
    return {SCOUT_REPO: scout, OLMOE_REPO: {"OLMoE-1B-7B-0125-Instruct-Q4_K_M.gguf": small}}


@pytest.fixture
def catalog_hub(hub: HubServer, served_files: dict[str, dict[str, Path]]) -> HubServer:
    for repo, files in served_files.items():
        shas = {p: f"{i:064x}" for i, p in enumerate(files) if not p.startswith("mmproj")}
        hub.add_repo(repo, dict(files), shas=shas)  # type: ignore[arg-type]
    return hub


def _service(hub: HubServer, tmp_path: Path) -> CatalogService:
    return CatalogService(HubClient(endpoint=hub.url), tmp_path / "cache")


def test_nothing_cached_means_no_verdict_and_no_request(catalog_hub: HubServer, tmp_path: Path) -> None:
    before = len(catalog_hub.log)
    rows = catalog_rows(_service(catalog_hub, tmp_path), Hardware.hypothetical(64, 24))
    assert len(catalog_hub.log) == before, "without refresh, only the cache is read"
    assert [r.entry.id for r in rows] == [e.id for e in CATALOG] and all(r.listing is None for r in rows)
    assert needs_network(rows) and recommend(rows) is None and scout_problem(rows) == ""


def test_refresh_reads_one_header_per_model_and_recommends_the_best_scout(catalog_hub: HubServer,
                                                                          tmp_path: Path) -> None:
    service = _service(catalog_hub, tmp_path)
    said: list[str] = []
    rows = catalog_rows(service, Hardware.hypothetical(64, 24), refresh=True, read_headers=True,
                        report=said.append)
    scout = rows[0]
    assert scout.listing is not None and [v.quant.label for v in scout.verdicts] == list(SCOUT_QUANTS)
    assert sum(v.exact for v in scout.verdicts) == 1, "one header read; the other quants are estimated from it"
    assert scout.mmproj_bytes > 0 and any("header" in s for s in said)
    maverick = next(r for r in rows if r.entry.id == "llama4-maverick")
    assert maverick.listing is None and maverick.error is not None, "not on this Hub: the error is kept"
    rec = recommend(rows)
    assert rec is not None and not rec.fallback and rec.repo_id == SCOUT_REPO
    assert rec.quant == "UD-Q4_K_XL" and rec.choice.verdict == "fits_well"
    assert rec.include_mmproj and rec.download_bytes == rec.choice.quant.size + scout.mmproj_bytes
    assert "best-quality Scout file" in rec.reason and not needs_network(rows)
    # The cache now answers without the network, for a smaller machine too.
    before = len(catalog_hub.log)
    cached = catalog_rows(service, Hardware.hypothetical(32, 8))
    assert len(catalog_hub.log) == before
    small = recommend(cached)
    assert small is not None and small.row.entry.id == "llama4-scout"
    assert small.choice.quant.size <= rec.choice.quant.size


def test_a_laptop_gets_a_smaller_model_and_the_reason(catalog_hub: HubServer, tmp_path: Path) -> None:
    service = _service(catalog_hub, tmp_path)
    laptop = Hardware.hypothetical(16, label="16 GB laptop")
    rows = catalog_rows(service, laptop, refresh=True, read_headers=True)
    assert {v.verdict for v in rows[0].verdicts} == {"does_not_fit"}
    problem = scout_problem(rows)
    assert problem.startswith("Llama 4 Scout does not fit this computer, even as UD-IQ1_S (33.8 GB)"), problem
    rec = recommend(rows)
    assert rec is not None and rec.fallback and rec.row.entry.id == "olmoe-1b-7b"
    assert rec.scout_problem == problem and rec.reason.startswith(problem)
    assert rec.choice.verdict in ("fits_well", "fits_slow") and not rec.include_mmproj


def test_nothing_fits_says_so_without_a_recommendation(catalog_hub: HubServer, tmp_path: Path) -> None:
    # 3 GB: a 4 GB machine now holds the small model with an 8-bit KV cache (the planner proposes one).
    rows = catalog_rows(_service(catalog_hub, tmp_path), Hardware.hypothetical(3, label="3 GB netbook"),
                        refresh=True, read_headers=True)
    assert recommend(rows) is None and not needs_network(rows) and scout_problem(rows)


def test_a_listing_without_a_header_still_needs_the_network(catalog_hub: HubServer, tmp_path: Path) -> None:
    service = _service(catalog_hub, tmp_path)
    service.listing(SCOUT_REPO, refresh=True)
    rows = catalog_rows(service, Hardware.hypothetical(64, 24))
    assert rows[0].listing is not None and {v.verdict for v in rows[0].verdicts} == {"unknown"}
    assert needs_network(rows) and recommend(rows) is None
    entry = find_entry("llama4-scout")
    assert entry is not None and CatalogRow(entry, None).best() is None
