"""Fetch a file over HTTP(S) into a cache, verified and written atomically (stdlib only)."""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from grader.datasets import idx
from grader.datasets.base import ProgressCallback
from grader.errors import ChecksumError, DatasetError, DatasetMissingError

MIRROR_ENV = "GRADER_DATASET_MIRROR"
"""Environment variable holding a base URL that replaces every source's origin."""

_CHUNK = 1 << 16
_USER_AGENT = "grader/0.1 (dataset fetch)"


def resolve_url(origin: str, filename: str, *, base_url: str | None = None) -> str:
    """Return ``filename``'s URL under base_url, else $GRADER_DATASET_MIRROR, else origin."""
    base = base_url or os.environ.get(MIRROR_ENV) or origin
    return f"{base.rstrip('/')}/{filename}"


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
    place only once verified, and removed on any failure.

    Raises DatasetMissingError when the server cannot be reached or refuses the
    file, DatasetError for a short or oversized body, ChecksumError on mismatch.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        dir=dest.parent, prefix=f".{dest.name}.", suffix=".part", delete=False
    ) as part:
        part_path = Path(part.name)
    try:
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
        os.replace(part_path, dest)
    except BaseException:
        part_path.unlink(missing_ok=True)
        raise
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


def _stream(
    url: str, part: Path, on_progress: ProgressCallback | None, timeout: float, max_bytes: int
) -> str:
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    digest = hashlib.sha256()
    done = 0
    total: int | None = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, part.open("wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if on_progress is not None:
                on_progress(0, total)
            while chunk := response.read(_CHUNK):
                done += len(chunk)
                if done > max_bytes:
                    raise DatasetError(
                        f"{url}: body exceeds {max_bytes} bytes; check $GRADER_DATASET_MIRROR."
                    )
                digest.update(chunk)
                out.write(chunk)
                if on_progress is not None:
                    on_progress(done, total)
    except http.client.IncompleteRead as err:
        raise DatasetError(_short(url, done + len(err.partial), total)) from err
    except urllib.error.URLError as err:  # includes HTTPError
        raise DatasetMissingError(
            f"cannot download {url} ({reason(err)}); check the network or set ${MIRROR_ENV}."
        ) from err
    except (OSError, http.client.HTTPException) as err:
        raise DatasetError(
            f"download of {url} failed after {done} bytes ({reason(err)}); run again."
        ) from err
    if total is not None and done != total:
        raise DatasetError(_short(url, done, total))
    return digest.hexdigest()


def _short(url: str, done: int, total: int | None) -> str:
    return f"download of {url} ended early ({done} of {total} bytes); run again."


def _mismatch(url: str, got: str, want: str) -> str:
    return f"{url}: sha256 {got[:16]}… does not match the recorded {want[:16]}…; {_retry()}"


def _retry() -> str:
    return f"the file was not kept; run again, or check ${MIRROR_ENV} if it is set."
