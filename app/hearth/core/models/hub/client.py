"""Hugging Face Hub access: repository listings, search, remote GGUF headers, sign-in — and nothing else.

Every request here is one the user asked for (a search, a refresh, a plan, a download). huggingface_hub's own
background calls are switched off before it is imported: telemetry (which also triggers a once-a-day fetch of
``/api/agent-harnesses`` to label the user agent) and update checks. Offline mode (Hearth's setting or
``HF_HUB_OFFLINE``) refuses every request with ``OfflineError`` before a socket is opened.

Only this module imports ``huggingface_hub`` (an import-linter contract), so the switches above always apply. It
imports it (and its HTTP client, httpx2) on first use, not with this module: the app's start does not pay for them
when nobody searches, signs in or downloads (``_hf``).
"""

from __future__ import annotations

import functools
import os
import sys

# Before huggingface_hub reads its constants at import time.
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_UPDATE_CHECK"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import hearth
from hearth.core.errors import DownloadError, GatedRepoError, OfflineError
from hearth.core.gguf.header import GgufInfo, merge_shards, parse_gguf
from hearth.core.models.hub.http import NETWORK_ERRORS, HttpFetcher, HttpStatusError, parse_retry_after
from hearth.core.models.hub.repo_files import RemoteFile, RepoListing, group_quants, safe_repo_id

if TYPE_CHECKING:
    import huggingface_hub

T = TypeVar("T")
DEFAULT_ENDPOINT = "https://huggingface.co"
# huggingface_hub's reading of a true environment variable (its constants module reads HF_HUB_OFFLINE so).
_TRUE = {"1", "ON", "YES", "TRUE"}


API_TIMEOUT_S = 30.0


@functools.cache
def _hf() -> ModuleType:
    """huggingface_hub, imported on first use with its background calls switched off."""
    import huggingface_hub

    silence_background_calls()
    return huggingface_hub


@functools.cache
def _unreachable() -> tuple[type[BaseException], ...]:
    """A request that may work if tried again: dropped or refused connections and timeouts, in either HTTP stack."""
    import httpx2  # huggingface_hub's HTTP client

    return (*NETWORK_ERRORS, httpx2.TransportError)


def _client_with_timeout() -> Any:
    """huggingface_hub's own HTTP client, but with a timeout (its default waits forever on a stalled server)."""
    import httpx2
    from huggingface_hub.utils import _http as hf_http

    client = hf_http.default_client_factory()
    client.timeout = httpx2.Timeout(API_TIMEOUT_S)
    return client


def silence_background_calls() -> None:
    """Make sure huggingface_hub sends nothing on its own, even if it was imported before this module."""
    import huggingface_hub
    from huggingface_hub import constants as hf_constants
    from huggingface_hub.utils import _detect_agent

    hf_constants.HF_HUB_DISABLE_TELEMETRY = True
    hf_constants.HF_HUB_DISABLE_UPDATE_CHECK = True
    # The user-agent's agent detection fetches a registry from the Hub once a day; give it an empty one.
    _detect_agent._registry = _detect_agent._EMPTY_REGISTRY
    huggingface_hub.set_client_factory(_client_with_timeout)


def hub_offline() -> bool:
    """Whether huggingface_hub's offline mode (``HF_HUB_OFFLINE``) is on (read the way it reads it, without
    importing it when it is not loaded yet)."""
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        return bool(constants.HF_HUB_OFFLINE)
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in _TRUE


class HubClient:
    """The app's handle on the Hub.

    Args:
        endpoint: the Hub's URL (default: ``HF_ENDPOINT`` or huggingface.co); tests pass a loopback server.
        token: a token to use (default: the one stored by ``login``, if any; False: never send one).
        offline: refuse all network access (Hearth's offline setting).
        timeout: seconds per request.
        sleep: how to wait between retries (tests and cancellable callers pass their own).
    """

    def __init__(self, *, endpoint: str | None = None, token: str | bool | None = None, offline: bool = False,
                 timeout: float = 30.0, retries: int = 4, sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        self._token = token
        self.offline = offline
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep

    @functools.cached_property
    def api(self) -> huggingface_hub.HfApi:
        """huggingface_hub's client, made on first use: building it imports its API module (~0.2 s), which the app's
        start need not wait for when nobody searches or downloads."""
        return _hf().HfApi(endpoint=self.endpoint, token=self._token, library_name="hearth",
                           library_version=hearth.__version__)

    # --- identity ------------------------------------------------------------------------------------------------

    @property
    def token(self) -> str | None:
        if self._token is False:
            return None
        if isinstance(self._token, str):
            return self._token
        return _hf().get_token()

    def request_headers(self) -> dict[str, str]:
        """User agent and, when the user has a token, ``Authorization``."""
        return _hf().utils.build_hf_headers(token=self.token or False, library_name="hearth",
                                            library_version=hearth.__version__)

    def fetcher(self) -> HttpFetcher:
        return HttpFetcher(self.request_headers(), timeout=self.timeout)

    def resolve_url(self, repo_id: str, revision: str, path: str) -> str:
        return f"{self.endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"

    def page_url(self, repo_id: str) -> str:
        return f"{self.endpoint}/{repo_id}"

    # --- requests ------------------------------------------------------------------------------------------------

    def check_online(self) -> None:
        if self.offline or hub_offline():
            raise OfflineError(
                "Hearth is offline, so it did not contact Hugging Face.",
                hint="Turn off offline mode in Settings (or unset HF_HUB_OFFLINE) to search and download.",
            )

    def call(self, what: str, fn: Callable[[], T], repo_id: str = "") -> T:
        """Run one Hub request with retries on rate limits and dropped connections; errors in plain words."""
        self.check_online()
        from huggingface_hub import errors as hf_errors

        _hf()
        unreachable = _unreachable()
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except hf_errors.OfflineModeIsEnabled as exc:
                raise OfflineError("Hearth is offline, so it did not contact Hugging Face.") from exc
            except (hf_errors.HfHubHTTPError, HttpStatusError) as exc:
                status, code, retry_after = _status_of(exc)
                if status in (429, 500, 502, 503, 504) and attempt < self.retries:
                    self.sleep(min(retry_after if retry_after is not None else 2.0**attempt, 120.0))
                    continue
                raise self.user_error(status, code, repo_id, what) from exc
            except unreachable as exc:
                if attempt < self.retries:
                    self.sleep(min(2.0**attempt, 30.0))
                    continue
                raise DownloadError(f"Hugging Face could not be reached to {what}.",
                                    hint="Check your internet connection and try again.", details=repr(exc)) from exc
        raise AssertionError("unreachable")

    def user_error(self, status: int, code: str, repo_id: str, what: str) -> DownloadError:
        """The Hub's refusal as an error a person can act on."""
        if code == "GatedRepo" or (status in (401, 403) and code != "RepoNotFound" and repo_id):
            signed_in = self.token is not None
            return GatedRepoError(
                f"{repo_id} is gated: its authors ask you to accept their licence before downloading.",
                hint=(f"Open {self.page_url(repo_id)}, accept the licence"
                      + (", and wait for approval (your token has no access yet)." if signed_in
                         else ", then sign in with a token: hearth models login")),
                details=f"HTTP {status} {code}",
            )
        if status in (401, 404) or code in ("RepoNotFound", "EntryNotFound", "RevisionNotFound"):
            return DownloadError(f"{repo_id or 'That'} was not found on Hugging Face (or it is private).",
                                 hint="Check the name; private repositories need a token (hearth models login).",
                                 details=f"HTTP {status} {code}")
        if status == 429:
            return DownloadError("Hugging Face is limiting requests right now.",
                                 hint="Wait a few minutes and try again.", details="HTTP 429")
        return DownloadError(f"Hugging Face refused to {what} (HTTP {status}).", details=code)

    # --- listings ------------------------------------------------------------------------------------------------

    def listing(self, repo_id: str, revision: str | None = None) -> RepoListing:
        """The repository's files with sizes and sha256, pinned to the commit they come from.

        Raises:
            GatedRepoError, DownloadError, OfflineError.
        """
        safe_repo_id(repo_id)
        info = self.call("look up the model", lambda: self.api.model_info(repo_id, revision=revision), repo_id)
        commit = info.sha or revision or "main"
        tree = self.call("list the model's files",
                         lambda: list(self.api.list_repo_tree(repo_id, recursive=True, revision=commit)), repo_id)
        files = []
        for entry in tree:
            if not isinstance(entry, _hf().hf_api.RepoFile):
                continue
            sha = entry.lfs.sha256 if entry.lfs is not None else None
            files.append(RemoteFile(str(entry.path), int(entry.size), sha))
        return RepoListing(repo_id, commit, info.gated or False, tuple(files), time.time(),
                           int(info.downloads or 0), int(info.likes or 0))

    def search(self, text: str, limit: int = 20) -> list[SearchHit]:
        """GGUF repositories whose name matches ``text``, most downloaded first."""
        def run() -> list[Any]:
            return list(self.api.list_models(search=text, filter="gguf", sort="downloads", limit=limit,
                                             expand=["siblings", "downloads", "likes", "gated"]))

        hits = []
        for model in self.call("search", run):
            names = [s.rfilename for s in (model.siblings or [])]
            quants = group_quants([RemoteFile(n, 0) for n in names])
            hits.append(SearchHit(model.id, int(model.downloads or 0), int(model.likes or 0), model.gated or False,
                                  tuple(q.label for q in quants), any("mmproj" in n.lower() for n in names)))
        return hits

    # --- remote headers ------------------------------------------------------------------------------------------

    def remote_info(self, listing: RepoListing, files: Sequence[RemoteFile], cache: HeaderCache | None = None,
                    *, network: bool = True) -> GgufInfo:
        """The merged GGUF header of a model on the Hub, read with Range requests (a few MB, not the whole file).

        Cached header bytes are used first, so a model planned once can be planned again offline.

        Raises:
            NeedsNetworkError: ``network`` is False and the header is not cached.
        """
        infos = []
        for f in files:
            if cache is not None and cache.get(f):
                try:
                    infos.append(parse_gguf(RangeSource(self, listing, f, cache, network=False), f.name))
                    continue
                except NeedsNetworkError:
                    pass
            if not network:
                raise NeedsNetworkError(f.path)
            source = RangeSource(self, listing, f, cache)

            def read(source: RangeSource = source, name: str = f.name) -> GgufInfo:
                return parse_gguf(source, name)

            infos.append(self.call("read the model's header", read, listing.repo_id))
        return merge_shards(infos)

    # --- sign-in -------------------------------------------------------------------------------------------------

    def login(self, token: str) -> str:
        """Check a token with the Hub and store it with huggingface_hub's own token storage; return the user name."""
        self.check_online()
        who = self.call("check the token", lambda: self.api.whoami(token=token))
        _hf().login(token=token, add_to_git_credential=False)
        return str(who.get("name", ""))

    @staticmethod
    def logout() -> None:
        if _hf().get_token() is not None:
            _hf().logout()


@dataclass(frozen=True)
class SearchHit:
    """One repository found by ``HubClient.search`` (quants from file names; sizes need a listing)."""

    repo_id: str
    downloads: int
    likes: int
    gated: bool | str
    quants: tuple[str, ...]
    has_mmproj: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class HeaderCache:
    """Header bytes of remote GGUF files on disk, keyed by the file's sha256, so plans work offline later."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, f: RemoteFile) -> Path:
        key = f.sha256 or quote(f.path, safe="").replace("%", "_")
        return self.folder / f"{key}.header"

    def get(self, f: RemoteFile) -> bytes:
        try:
            return self._path(f).read_bytes()
        except OSError:
            return b""

    def put(self, f: RemoteFile, data: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._path(f).with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, self._path(f))
        except OSError:
            pass  # a cache that cannot be written only costs a refetch


class NeedsNetworkError(Exception):
    """A header was wanted from the cache alone and is not (fully) there."""


class RangeSource:
    """A remote file as a ``ByteSource``: each read is a Range request (cached prefix first)."""

    def __init__(self, client: HubClient, listing: RepoListing, f: RemoteFile, cache: HeaderCache | None, *,
                 network: bool = True) -> None:
        self.client = client
        self.network = network
        self.url = client.resolve_url(listing.repo_id, listing.revision, f.path)
        self.file = f
        self.cache = cache
        self.cached = cache.get(f) if cache is not None else b""
        self.fetched = bytearray(self.cached)

    @property
    def size(self) -> int:
        return self.file.size

    def read(self, offset: int, length: int) -> bytes:
        if offset + length <= len(self.cached) or (self.cached and len(self.cached) >= self.file.size):
            return self.cached[offset:offset + length]
        if not self.network:
            raise NeedsNetworkError(self.file.path)
        self.client.check_online()
        end = min(offset + length, self.file.size) - 1
        if end < offset:
            return b""
        response = self.client.fetcher().open(self.url, offset, end)
        try:
            if response.start != offset:
                raise DownloadError("The server does not support partial downloads, so the header cannot be read.")
            data = response.response.read(end - offset + 1)
        finally:
            response.close()
        if offset == len(self.fetched):
            self.fetched += data
            if self.cache is not None:
                self.cache.put(self.file, bytes(self.fetched))
        return data


def _status_of(exc: Exception) -> tuple[int, str, float | None]:
    if isinstance(exc, HttpStatusError):
        return exc.status, exc.error_code, exc.retry_after
    response = getattr(exc, "response", None)
    if response is None:
        return 0, "", None
    return (int(response.status_code), response.headers.get("X-Error-Code", "") or "",
            parse_retry_after(response.headers.get("Retry-After")))
