"""``hearth models`` and ``hearth doctor`` as real processes against the loopback Hub."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hearth.core.models.download.manager import CHUNK
from tests.fixtures.hub_fixtures import BIG, GOOD_TOKEN, SPLIT, TINY
from tests.fixtures.hub_server import HubServer

ROOT = Path(__file__).resolve().parents[2]


def env_for(home: Path, hub: HubServer | None, **extra: str) -> dict[str, str]:
    env = {**os.environ, "HEARTH_HOME": str(home), "PYTHONPATH": str(ROOT / "app")}
    if hub is not None:
        env.update({"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0", "HF_HOME": str(home / "hf-home")})
    return {**env, **extra}


def hearth(*args: str, home: Path, hub: HubServer | None = None, timeout: float = 120,
           **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hearth", *args], capture_output=True, text=True, timeout=timeout,
                          env=env_for(home, hub, **extra), check=False)


def test_plan_a_local_file_with_what_if(tiny_llama4: Path, hearth_home: Path) -> None:
    result = hearth("models", "plan", str(tiny_llama4), "--json", "--ram-gb", "16", "--vram-gb", "8", home=hearth_home)
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)
    assert report["verdict"] == "fits_well" and report["placement"]["kind"] == "gpu"
    assert report["header"]["expert_count"] == 4 and report["plan"]["n_gpu_layers"] == 5
    text = hearth("models", "plan", str(tiny_llama4), home=hearth_home)
    assert "Verdict: fits well." in text.stdout and "tokens/s expected" in text.stdout


def test_plan_a_remote_quant_reads_only_its_header(hub: HubServer, hearth_home: Path) -> None:
    result = hearth("models", "plan", f"{BIG}:F16", "--json", home=hearth_home, hub=hub)
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)
    assert report["header"]["tensor_count"] == 31 and report["exact"]
    fetched = hub.sent_bytes("big-F16.gguf")
    assert 0 < fetched < 2_000_000, "the 16 MB file's header was read with Range requests"
    assert all(r.range and r.range.startswith("bytes=") for r in hub.requests("/cdn/"))
    again = hearth("models", "plan", f"{BIG}:F16", "--json", home=hearth_home, hub=hub, HF_HUB_OFFLINE="1")
    assert again.returncode == 0, again.stderr
    assert hub.sent_bytes("big-F16.gguf") == fetched, "a second plan uses the cached listing and header"


def test_download_list_chat_remove(hub: HubServer, hearth_home: Path) -> None:
    result = hearth("models", "download", f"{TINY}:F32", "--include-mmproj", home=hearth_home, hub=hub)
    assert result.returncode == 0, result.stderr
    assert "Ready:" in result.stderr and "vision projector" in result.stderr
    listed = json.loads(hearth("models", "list", "--json", home=hearth_home).stdout)["models"]
    (model,) = [m for m in listed if m["repo_id"] == TINY]
    assert model["state"] == "ready" and model["mmproj"].endswith("mmproj-F16.gguf")
    chat = hearth("chat", "--model", model["path"], "--prompt", "Hello", "--max-tokens", "4", "--json",
                  home=hearth_home, timeout=240)
    assert chat.returncode == 0, chat.stderr
    removed = hearth("models", "remove", f"{TINY}:F32", "--yes", home=hearth_home)
    assert removed.returncode == 0 and " MB freed." in removed.stdout, removed.stderr
    assert not Path(model["path"]).exists() and not Path(model["mmproj"]).exists()


def test_killed_download_resumes_in_a_new_process(hub: HubServer, hearth_home: Path,
                                                  hub_files: dict[str, Path]) -> None:
    size = hub_files["big"].stat().st_size
    hub.faults.throttle_bps = 4_000_000
    part = hearth_home / "models" / "hearth-test" / "big-GGUF" / "big-F16.gguf.part"
    proc = subprocess.Popen([sys.executable, "-m", "hearth", "models", "download", BIG], env=env_for(hearth_home, hub),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (part.is_file() and part.stat().st_size > size // 3):
        assert proc.poll() is None and time.monotonic() < deadline, "the download did not get going"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.stderr is not None
    proc.stderr.close()
    kept = part.stat().st_size
    first_sent = hub.sent_bytes("big-F16.gguf")
    assert kept < size and not part.with_suffix("").exists()

    hub.faults.throttle_bps = None
    result = hearth("models", "download", BIG, home=hearth_home, hub=hub)
    assert result.returncode == 0, result.stderr
    assert part.with_suffix("").read_bytes() == hub_files["big"].read_bytes()
    assert hub.requests("/cdn/")[-1].range == f"bytes={kept}-"
    refetched = hub.sent_bytes("big-F16.gguf") - size
    assert refetched <= CHUNK, f"re-downloaded {refetched} bytes after the kill (first process sent {first_sent})"


def test_ctrl_c_pauses_and_the_same_command_resumes(hub: HubServer, hearth_home: Path) -> None:
    hub.faults.throttle_bps = 4_000_000
    part = hearth_home / "models" / "hearth-test" / "big-GGUF" / "big-F16.gguf.part"
    proc = subprocess.Popen([sys.executable, "-m", "hearth", "models", "download", BIG], env=env_for(hearth_home, hub),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (part.is_file() and part.stat().st_size > 1_000_000):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Paused" in err
    listed = json.loads(hearth("models", "list", "--json", home=hearth_home).stdout)["models"]
    assert [m["state"] for m in listed] == ["paused"]
    hub.faults.throttle_bps = None
    assert hearth("models", "download", BIG, home=hearth_home, hub=hub).returncode == 0


def test_search_login_offline_and_doctor(hub: HubServer, hearth_home: Path) -> None:
    found = hearth("models", "search", "tiny", home=hearth_home, hub=hub)
    assert found.returncode == 0 and TINY in found.stdout and SPLIT in found.stdout and "[vision]" in found.stdout

    bad = hearth("models", "login", "--token", "hf_wrong", home=hearth_home, hub=hub)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    good = hearth("models", "login", "--token", GOOD_TOKEN, home=hearth_home, hub=hub)
    assert good.returncode == 0 and "hearth-tester" in good.stdout, good.stderr
    assert GOOD_TOKEN in (hearth_home / "hf-home" / "token").read_text(), "stored by huggingface_hub itself"
    assert GOOD_TOKEN not in "".join(p.read_text(errors="ignore") for p in hearth_home.rglob("*.json"))

    before = len(hub.log)
    offline = hearth("models", "download", TINY, home=hearth_home, hub=hub, HF_HUB_OFFLINE="1")
    assert offline.returncode == 1 and "offline" in offline.stderr
    assert len(hub.log) == before, "offline means no request at all"

    doctor = hearth("doctor", "--json", home=hearth_home)
    assert doctor.returncode == 0, doctor.stderr
    data = json.loads(doctor.stdout)
    assert data["ram_total"] > 0 and data["backend"]["gpu_offload"] in (True, False)
    assert data["gpu_offload_advice"] and data["disk_free"] > 0
    text = hearth("doctor", "--cached", home=hearth_home)
    assert "GPU offload:" in text.stdout and "Models folder:" in text.stdout


@pytest.mark.parametrize("hearth_side", [True, False], ids=["hearth", "plain-huggingface_hub"])
def test_only_requests_the_user_asked_for(hub: HubServer, hearth_home: Path, hearth_side: bool) -> None:
    """With telemetry left on and an AI-agent variable set, huggingface_hub on its own fetches
    /api/agent-harnesses; through Hearth, the Hub sees only the search, the listing and the file."""
    env = {k: v for k, v in env_for(hearth_home, hub).items() if not k.startswith(("HF_HUB_DISABLE", "DISABLE_"))}
    env["AI_AGENT"] = "some-agent"
    if hearth_side:
        for args in (["models", "search", "tiny"], ["models", "download", f"{TINY}:F32"]):
            done = subprocess.run([sys.executable, "-m", "hearth", *args], env=env, capture_output=True, text=True,
                                  timeout=120, check=False)
            assert done.returncode == 0, done.stderr
        paths = hub.paths()
        assert not [p for p in paths if "agent-harnesses" in p]
        expected = ("/api/models", f"/api/models/{TINY}", f"/{TINY}/resolve/", "/cdn/")
        assert all(p.startswith(expected) for p in paths), paths
    else:
        code = "from huggingface_hub import HfApi; HfApi().model_info('" + TINY + "')"
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr
        assert "/api/agent-harnesses" in hub.paths(), "the control: the background call exists without Hearth"
