"""Resumable, verified model downloads.

``DownloadManager.prepare`` turns ``REPO[:QUANT]`` into a ``DownloadJob`` (the Hub's listing: every shard, the vision
projector if asked, sizes and sha256, pinned to one commit) and records it on disk; ``run`` does the transfer and
blocks until the job is ready, paused or cancelled. The GUI calls ``run`` from a worker thread; the job's
``DownloadControl`` (``job.pause()``, ``job.cancel()``) is safe from any thread and takes effect within one chunk;
progress callbacks run on the worker thread (the GUI forwards them to its main thread). After a restart, ``pending()``
lists unfinished jobs from their manifests, and ``run`` continues them from their ``.part`` files with HTTP Range
requests.

Guarantees: free disk is checked for what is left (plus a margin) before a byte is fetched; a file gets its final name
only after its sha256 matches the Hub's; all shards are complete before the model is usable; a failed check says which
file and fetches only that file again; dropped connections, 429 and 503 are retried with backoff (``Retry-After``
honoured); ENOSPC keeps the partial file for a later resume.
"""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import threading
from pathlib import Path
from typing import Any, BinaryIO

from hearth.core.errors import DiskFullError, DownloadError, HearthError
from hearth.core.machine.hardware import free_disk
from hearth.core.models.download.control import DownloadControl
from hearth.core.models.download.job import DownloadJob, part_path
from hearth.core.models.download.lock import FolderLock
from hearth.core.models.download.progress import ProgressCallback, ProgressReporter
from hearth.core.models.download.state import (
    DownloadState,
    FileRecord,
    FileState,
    Manifest,
    forget_verified,
    is_verified,
    manifest_path,
    manifests_in,
    mark_verified,
    save_manifest,
)
from hearth.core.models.hub.client import HubClient
from hearth.core.models.hub.http import NETWORK_ERRORS, HttpStatusError, RangeResponse
from hearth.core.models.hub.repo_files import RepoListing, safe_repo_id, safe_repo_path
from hearth.core.units import format_size

CHUNK = 1 << 20  # bytes per read: the most a killed process can lose


class _Stopped(Exception):
    """A pause or cancel was asked for."""


class _RangeIgnored(Exception):
    """The server answered a Range request with the whole file."""


class DownloadManager:
    """Downloads into ``<models_dir>/<owner>/<repo>/``.

    Args:
        models_dir: where models live.
        hub: the Hub client (its token and endpoint are used for the file transfers).
        chunk_size: bytes per read.
        max_attempts: tries per file after a failure that made no progress.
        disk_margin: extra free bytes required beyond what is left to download (None: 2%, at least 256 MiB).
        progress_interval: seconds between progress callbacks.
    """

    def __init__(self, models_dir: Path, hub: HubClient, *, chunk_size: int = CHUNK, max_attempts: int = 6,
                 disk_margin: int | None = None, progress_interval: float = 0.2) -> None:
        self.models_dir = models_dir
        self.hub = hub
        self.chunk_size = chunk_size
        self.max_attempts = max_attempts
        self.disk_margin = disk_margin
        self.progress_interval = progress_interval

    # --- setting up ----------------------------------------------------------------------------------------------

    def folder_for(self, repo_id: str) -> Path:
        owner, name = safe_repo_id(repo_id).split("/")
        return self.models_dir / owner / name

    def prepare(self, repo_id: str, quant: str | None = None, *, include_mmproj: bool = False,
                listing: RepoListing | None = None, control: DownloadControl | None = None) -> DownloadJob:
        """Resolve what to download (one Hub listing) and record it; nothing is transferred yet.

        ``control`` is the pause and cancel control the job will obey (a new one if None): the GUI creates it first,
        so that a pause asked while the listing is read still counts.

        Raises:
            DownloadError: unknown repository or quantization, an unsafe file name, or an incomplete split.
            GatedRepoError: the repository is gated and no token is stored.
            OfflineError: Hearth is offline.
        """
        listing = listing or self.hub.listing(repo_id)
        chosen = listing.quant(quant)
        if not chosen.complete:
            raise DownloadError(f"{repo_id} lists only {len(chosen.files)} parts of {chosen.label}.",
                                hint="The repository may still be uploading; try again later.")
        if listing.gated and self.hub.token is None:
            raise self.hub.user_error(401, "GatedRepo", repo_id, "download")
        records = [FileRecord(f.path, f.size, f.sha256, "model") for f in chosen.files]
        mmproj = listing.mmproj() if include_mmproj else None
        if mmproj is not None:
            records.append(FileRecord(mmproj.path, mmproj.size, mmproj.sha256, "mmproj"))
        for r in records:
            safe_repo_path(r.path)
        folder = self.folder_for(repo_id)
        previous = {m.quant: m for _, m in manifests_in(folder)}.get(chosen.label)
        if previous is not None and previous.revision == listing.revision and \
                [f.path for f in previous.files] == [r.path for r in records]:
            return DownloadJob(previous, folder, control or DownloadControl())  # the same again: keep its progress
        manifest = Manifest(listing.repo_id, listing.revision, chosen.label, records)
        save_manifest(folder, manifest)
        return DownloadJob(manifest, folder, control or DownloadControl())

    def pending(self) -> list[DownloadJob]:
        """Downloads that were started and are not finished (they survive restarts)."""
        jobs: list[DownloadJob] = []
        if not self.models_dir.is_dir():
            return jobs
        for owner in sorted(p for p in self.models_dir.iterdir() if p.is_dir()):
            for repo in sorted(p for p in owner.iterdir() if p.is_dir()):
                for _, manifest in manifests_in(repo):
                    if manifest.state is not DownloadState.READY:
                        jobs.append(DownloadJob(manifest, repo))
        return jobs

    def check_disk(self, job: DownloadJob) -> None:
        """Raise ``DiskFullError`` unless the disk has room for what is left, plus a margin."""
        left = job.remaining_bytes()
        if left == 0:
            return
        margin = self.disk_margin if self.disk_margin is not None else max(256 * 2**20, int(left * 0.02))
        job.folder.mkdir(parents=True, exist_ok=True)
        free = free_disk(job.folder)
        if free is not None and free < left + margin:
            raise DiskFullError(
                f"Not enough disk space: {job.id} needs {format_size(left + margin)} free "
                f"({format_size(left)} still to download plus {format_size(margin)} to spare), "
                f"but only {format_size(free)} is free.",
                hint=f"Free up {format_size(left + margin - free)}, or choose another models folder in Settings.",
                details=str(job.folder),
            )

    # --- running -------------------------------------------------------------------------------------------------

    def run(self, job: DownloadJob, on_progress: ProgressCallback | None = None) -> DownloadJob:
        """Download until done, paused or cancelled (blocking: call it from a worker thread).

        A pause or cancel asked before the run starts is obeyed at once (a cancel deletes the partial files).

        Returns:
            The job; ``job.state`` is ``READY``, ``PAUSED`` or ``CANCELLED``.

        Raises:
            DiskFullError: before starting (not enough room) or when the disk fills up (partial files are kept).
            GatedRepoError, OfflineError, DownloadError: with the file concerned named.
        """
        stop_now = job.control.begin_run()
        lock = FolderLock(job.folder)
        lock.acquire()
        reporter = ProgressReporter(job, on_progress, self.progress_interval)
        try:
            if stop_now:
                raise _Stopped()
            if job.remaining_bytes():
                self.hub.check_online()
            self.check_disk(job)
            job.manifest.state, job.manifest.message = DownloadState.DOWNLOADING, ""
            _save(job)
            for record in job.manifest.files:
                if record.state is not FileState.READY or not job.local(record).is_file():
                    self._fetch_verified(job, record, reporter)
            job.manifest.state = DownloadState.READY
            _save(job)
            reporter.emit(DownloadState.READY)
        except _Stopped:
            if job.control.cancel_requested:
                self._discard(job)
                reporter.emit(DownloadState.CANCELLED, "Download cancelled; its partial files were deleted.")
            else:
                job.manifest.state = DownloadState.PAUSED
                _save(job, best_effort=True)
                reporter.emit(DownloadState.PAUSED)
                job.control.paused()  # after the last report: a pause asked from it is obeyed by this stop too
        except HearthError as exc:
            job.manifest.state = DownloadState.PAUSED if isinstance(exc, DiskFullError) else DownloadState.FAILED
            job.manifest.message = exc.message
            _save(job, best_effort=True)
            reporter.emit(DownloadState.FAILED, exc.message)
            raise
        finally:
            lock.release()
        return job

    def discard(self, job: DownloadJob) -> None:
        """Forget a download that is not running: delete its partial files and its record (finished files stay).

        Raises:
            DownloadError: it is being downloaded right now (by this app or another).
        """
        lock = FolderLock(job.folder)
        lock.acquire()
        try:
            self._discard(job)
        finally:
            lock.release()

    def _discard(self, job: DownloadJob) -> None:
        # Files this download already finished go too, unless another download in the folder lists them (a vision
        # projector shared by two quantizations): a cancelled download leaves nothing of itself behind.
        shared = {f.path for _, m in manifests_in(job.folder) if m.quant != job.manifest.quant for f in m.files}
        for record in job.manifest.files:
            part_path(job.local(record)).unlink(missing_ok=True)
            if record.path not in shared and job.local(record).is_file():
                job.local(record).unlink()
                forget_verified(job.folder, record.path)
        manifest_path(job.folder, job.manifest.quant).unlink(missing_ok=True)
        job.manifest.state = DownloadState.CANCELLED

    def _fetch_verified(self, job: DownloadJob, record: FileRecord, reporter: ProgressReporter) -> None:
        local = job.local(record)
        if local.is_file():
            if is_verified(job.folder, record.path, record.sha256, local):
                record.state = FileState.READY
                return
            reporter.emit(DownloadState.VERIFYING, f"Checking {record.path}, which is already on disk…",
                          current=record.path)
            if local.stat().st_size == record.size and _sha256_of(local, job) == record.sha256:
                record.state = FileState.READY
                _remember_verified(job, record, local)
                return
            reporter.emit(DownloadState.DOWNLOADING, f"{record.path} on disk does not match the Hub's copy: it was "
                          "deleted and is being downloaded again.")
            local.unlink()
            forget_verified(job.folder, record.path)
        for attempt in (1, 2):
            digest = self._transfer(job, record, reporter)
            if record.sha256 is None or digest == record.sha256:
                break
            record.state = FileState.BAD
            part = part_path(local)
            part.unlink(missing_ok=True)
            what = (f"{record.path} failed its checksum (expected sha256 {record.sha256[:12]}…, got {digest[:12]}…)")
            if attempt == 2:
                _save(job)
                raise DownloadError(f"{what} twice in a row; the damaged download was deleted.",
                                    hint="The server or your connection is corrupting data. Try again later.",
                                    details=f"expected {record.sha256}\ngot      {digest}")
            reporter.emit(DownloadState.DOWNLOADING, f"{what}. The damaged download was deleted and only this file "
                          "is being downloaded again.")
        part = part_path(local)
        os.replace(part, local)
        record.state = FileState.READY
        _remember_verified(job, record, local)
        _save(job)

    def _transfer(self, job: DownloadJob, record: FileRecord, reporter: ProgressReporter) -> str:
        """Bring ``NAME.part`` to full size; return its sha256 (hashed as it streams, prefix re-read on resume)."""
        part = part_path(job.local(record))
        part.parent.mkdir(parents=True, exist_ok=True)
        while True:
            if part.is_file() and part.stat().st_size > record.size:
                part.unlink()
            digest = _BackgroundSha256()
            try:
                return self._receive(job, record, reporter, part, digest)
            except _RangeIgnored:
                part.unlink()  # the server can only send the whole file: start this file again
            finally:
                digest.close()

    def _receive(self, job: DownloadJob, record: FileRecord, reporter: ProgressReporter, part: Path,
                 digest: _BackgroundSha256) -> str:
        done = 0
        if part.is_file():
            reporter.emit(DownloadState.VERIFYING, f"Resuming {record.path}…", current=record.path)
            done = _hash_into(part, digest, job)
        job.done[record.path] = done
        record.state = FileState.PARTIAL
        url = self.hub.resolve_url(job.manifest.repo_id, job.manifest.revision, record.path)
        fetcher = self.hub.fetcher()
        failures = 0
        with self._openpart_path(part) as out:
            while done < record.size:
                if job.stopping:
                    raise _Stopped()
                before = done
                try:
                    response = fetcher.open(url, done)
                    try:
                        if response.start != done:
                            raise _RangeIgnored()
                        done = self._stream(job, record, response, out, digest, done, reporter)
                    finally:
                        response.close()
                except HttpStatusError as exc:
                    if exc.status == 416 and done >= record.size:
                        break
                    if not exc.retryable:
                        raise self.hub.user_error(exc.status, exc.error_code, job.manifest.repo_id,
                                                  f"download {record.path}") from exc
                    failures += 1
                    if failures > self.max_attempts:
                        raise DownloadError(f"Hugging Face kept refusing {record.path} (HTTP {exc.status}).",
                                            hint="Try again later; the download will resume where it stopped.") from exc
                    wait = exc.retry_after if exc.retry_after is not None else min(2.0**failures, 60.0)
                    reporter.emit(DownloadState.DOWNLOADING, f"The server is busy (HTTP {exc.status}); retrying in "
                                  f"{wait:.0f} s…")
                    job.control.wait(min(wait, 300.0))
                    continue
                except NETWORK_ERRORS as exc:
                    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                        raise _disk_full(part) from exc
                    done = job.done[record.path]  # what was written before the connection failed
                    failures = 0 if done > before else failures + 1
                    if failures > self.max_attempts:
                        raise DownloadError(f"The connection kept failing while downloading {record.path}.",
                                            hint="Check your connection; the download will resume where it stopped.",
                                            details=repr(exc)) from exc
                    reporter.emit(DownloadState.DOWNLOADING,
                                  f"Connection lost at {format_size(done)} of {record.path}; resuming…")
                    job.control.wait(min(2.0 ** max(0, failures - 1), 30.0) if failures else 0.2)
                    continue
            out.flush()
            os.fsync(out.fileno())
        if done != record.size:
            raise DownloadError(f"{record.path} ended at {done:,} bytes, expected {record.size:,}.")
        record.state = FileState.VERIFYING
        return digest.hexdigest()

    def _openpart_path(self, part: Path) -> BinaryIO:
        """The partial file, unbuffered for appending (a seam for tests that simulate a full disk).

        Unbuffered, so that what the file holds is exactly what was written when a process is killed or the disk
        fills up; a resume re-reads it rather than trusting counters.
        """
        return part.open("ab", buffering=0)

    def _stream(self, job: DownloadJob, record: FileRecord, response: RangeResponse, out: BinaryIO, digest: Any,
                done: int, reporter: ProgressReporter) -> int:
        read1 = response.read1
        write = out.write
        update = digest.update
        limit = record.size
        while done < limit:
            if job.stopping:
                raise _Stopped()
            block = read1(min(self.chunk_size, limit - done))
            if not block:
                raise ConnectionError("the server closed the connection early")
            try:
                view = memoryview(block)
                while view:
                    written = write(view)
                    if not written:
                        raise OSError(errno.EIO, "the disk accepted no bytes")
                    view = view[written:]
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise _disk_full(part_path(job.local(record))) from exc
                raise DownloadError(f"{record.path} could not be written: {exc.strerror}.",
                                    details=str(part_path(job.local(record)))) from exc
            update(block)
            done += len(block)
            job.done[record.path] = done
            reporter.advance(len(block), record.path)
        return done


def _remember_verified(job: DownloadJob, record: FileRecord, local: Path) -> None:
    try:
        mark_verified(job.folder, record.path, record.sha256, local)
    except OSError:
        pass  # only a cache: without it the file is hashed again next time


def _save(job: DownloadJob, *, best_effort: bool = False) -> None:
    """Record the job's state; on a full disk that is itself a ``DiskFullError`` (or skipped, when best effort)."""
    try:
        save_manifest(job.folder, job.manifest)
    except OSError as exc:
        if best_effort:
            return  # the record keeps its previous state; the .part files are what matter for resuming
        if exc.errno == errno.ENOSPC:
            raise _disk_full(job.folder) from exc
        raise DownloadError(f"The download's record could not be written: {exc.strerror}.",
                            details=str(job.folder)) from exc


def _disk_full(part: Path) -> DiskFullError:
    return DiskFullError(
        "The disk filled up during the download.",
        hint="Free some space and resume: the part already downloaded is kept.",
        details=str(part),
    )


class _BackgroundSha256:
    """sha256 computed on its own thread, so hashing overlaps with receiving (hashlib releases the GIL)."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=64)
        self._thread = threading.Thread(target=self._work, name="sha256", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (block := self._queue.get()) is not None:
            self._digest.update(block)

    def update(self, block: bytes) -> None:
        self._queue.put(block)

    def hexdigest(self) -> str:
        self.close()
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def _hash_into(path: Path, digest: Any, job: DownloadJob) -> int:
    size = 0
    with path.open("rb") as fh:
        while block := fh.read(8 << 20):
            if job.stopping:
                raise _Stopped()
            digest.update(block)
            size += len(block)
    return size


def _sha256_of(path: Path, job: DownloadJob) -> str:
    digest = hashlib.sha256()
    _hash_into(path, digest, job)
    return digest.hexdigest()
