"""Fetch a file over HTTP(S) into a cache, verified and written atomically (stdlib only)."""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from grader.atomic import replacing
from grader.datasets import idx
from grader.datasets.base import ProgressCallback
from grader.errors import ChecksumError, DatasetError, DatasetMissingError

MIRROR_ENV = "GRADER_DATASET_MIRROR"
"""Environment variable holding a base URL that replaces every source's origin."""

ATTEMPTS = 3
"""Connections tried per download; each after the first resumes where the last stopped."""
RETRY_DELAY_S = 1.0
"""Pause before the n-th retry: n times this."""

_CHUNK = 1 << 16
_USER_AGENT = "grader/0.1 (dataset fetch)"


def resolve_url(origin: str, filename: str, *, base_url: str | None = None) -> str:
    """Return ``filename``'s URL under base_url, else $GRADER_DATASET_MIRROR, else origin."""
    base = base_url or os.environ.get(MIRROR_ENV) or origin
    return f"{base.rstrip('/')}/{filename}"


_OFFLINE: ContextVar[bool] = ContextVar("grader_offline", default=False)


@contextmanager
def offline() -> Iterator[None]:
    """Within the block :func:`fetch` downloads nothing: data not on this machine is missing."""
    token = _OFFLINE.set(True)
    try:
        yield
    finally:
        _OFFLINE.reset(token)


def fetch(
    url: str,
    dest: Path,
    *,
    sha256: str | None = None,
    content_sha256: str | None = None,
    content_size: int | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float = 30.0,
    max_bytes: int = idx.DEFAULT_MAX_BYTES,
) -> Path:
    """Download ``url`` to ``dest`` and return ``dest``.

    ``sha256`` checks the bytes as sent; ``content_sha256`` and ``content_size``
    check them after gunzipping (for files that were re-compressed elsewhere).
    The body streams into a temporary file beside ``dest`` that is renamed into
    place only once verified, and removed on any failure. A connection that drops
    mid-body is resumed from the last byte received (HTTP Range), up to ATTEMPTS
    connections in all, so a flaky link does not restart a large archive from zero.

    Raises DatasetMissingError when the server cannot be reached or refuses the
    file, DatasetError for a short or oversized body, ChecksumError on mismatch.
    """
    if _OFFLINE.get():
        raise DatasetMissingError(f"{url} is not on this machine (not downloading now)")
    with replacing(dest, suffix=".part") as part_path:
        digest = _stream(url, part_path, on_progress, timeout, max_bytes)
        if sha256 is not None and digest != sha256:
            raise ChecksumError(_mismatch(url, digest, sha256))
        if content_sha256 is not None or content_size is not None:
            cap = content_size if content_size is not None else max_bytes
            try:
                got, size = idx.content_digest(part_path, max_bytes=cap)
            except DatasetError as err:
                raise ChecksumError(f"{url}: content is not as expected; {_retry()}") from err
            if content_size is not None and size != content_size:
                raise ChecksumError(
                    f"{url}: content is {size} bytes, expected {content_size}; {_retry()}"
                )
            if content_sha256 is not None and got != content_sha256:
                raise ChecksumError(_mismatch(url, got, content_sha256))
    return dest


def reason(err: BaseException) -> str:
    """Describe a network failure in a few words (for one-line messages)."""
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        inner = err.reason
        return inner.strerror or str(inner) if isinstance(inner, OSError) else str(inner)
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


class _Dropped(Exception):
    """The connection ended before the whole body arrived; a retry may resume it."""


@dataclass
class _Received:
    """What has arrived so far: the bytes written, their running sha256, the full size."""

    done: int = 0
    total: int | None = None
    digest: Any = field(default_factory=hashlib.sha256)


def _stream(
    url: str, part: Path, on_progress: ProgressCallback | None, timeout: float, max_bytes: int
) -> str:
    """Stream ``url`` into ``part``; a dropped connection is resumed with a Range request.

    A server that answers a Range request with the whole file (200) starts it over.
    After ATTEMPTS connections without the whole body, the download fails.
    """
    got = _Received()
    attempt = 1
    with part.open("wb") as out:
        while True:
            try:
                _receive(url, out, got, on_progress, timeout, max_bytes)
                return str(got.digest.hexdigest())
            except _Dropped as err:
                if attempt == ATTEMPTS:
                    raise DatasetError(
                        f"download of {url} ended early ({got.done} of {got.total} bytes, "
                        f"{ATTEMPTS} tries); run again."
                    ) from err.__cause__
            time.sleep(RETRY_DELAY_S * attempt)
            attempt += 1


def _receive(
    url: str,
    out: BinaryIO,
    got: _Received,
    on_progress: ProgressCallback | None,
    timeout: float,
    max_bytes: int,
) -> None:
    headers = {"User-Agent": _USER_AGENT}
    if got.done:
        headers["Range"] = f"bytes={got.done}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if got.done and not _resumes(response, got.done):
                out.seek(0)
                out.truncate()
                got.done, got.digest = 0, hashlib.sha256()
            if not got.done:
                got.total = _length(response.headers.get("Content-Length"))
            if on_progress is not None:
                on_progress(got.done, got.total)
            while chunk := response.read(_CHUNK):
                got.done += len(chunk)
                if got.done > max_bytes:
                    raise DatasetError(
                        f"{url}: body exceeds {max_bytes} bytes; check ${MIRROR_ENV}."
                    )
                got.digest.update(chunk)
                out.write(chunk)
                if on_progress is not None:
                    on_progress(got.done, got.total)
    except http.client.IncompleteRead as err:
        out.write(err.partial)
        got.digest.update(err.partial)
        got.done += len(err.partial)
        raise _Dropped() from err
    except urllib.error.URLError as err:  # includes HTTPError
        raise DatasetMissingError(
            f"cannot download {url} ({reason(err)}); check the network or set ${MIRROR_ENV}."
        ) from err
    except (OSError, http.client.HTTPException) as err:
        raise _Dropped() from err
    if got.total is not None and got.done != got.total:
        raise _Dropped()


def _resumes(response: http.client.HTTPResponse, start: int) -> bool:
    """Whether ``response`` carries the body from byte ``start`` on (a 206 for our Range)."""
    content_range = response.headers.get("Content-Range", "")
    return response.status == 206 and str(content_range).startswith(f"bytes {start}-")


def _length(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _mismatch(url: str, got: str, want: str) -> str:
    return f"{url}: sha256 {got[:16]}… does not match the recorded {want[:16]}…; {_retry()}"


def _retry() -> str:
    return f"the file was not kept; run again, or check ${MIRROR_ENV} if it is set."
