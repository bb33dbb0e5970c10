"""Where the bytes of documents live: blobs named by their sha256, behind a small interface that an S3-compatible
store can implement too. The database holds metadata only.

Storing is two steps: `stage` streams the bytes to a private place while hashing and measuring them (refusing
them past a size), then `keep` publishes them under their sha256 (or `discard` drops them). Publishing and deleting
a blob are done under a lock on its sha256 taken by the caller (see `documents.lock_blob`), so that a blob is never
deleted while a new version row comes to reference it.
"""

import hashlib
import logging
import os
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from anyio import to_thread

CHUNK_BYTES = 1 << 20
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_STAGING = ".staging"

log = logging.getLogger("projects.documents")


class BlobTooLarge(Exception):
    """The stream went past the size allowed; nothing was kept."""

    def __init__(self, max_bytes: int):
        super().__init__(f"blob larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


@dataclass(frozen=True)
class StagedBlob:
    sha256: str
    size: int
    staging_key: str  # where the storage holds the bytes until `keep` or `discard`


class DocumentStorage(Protocol):
    async def stage(self, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StagedBlob:
        """Stream the bytes aside, hashing and counting them; `BlobTooLarge` past `max_bytes`."""
        ...

    async def keep(self, staged: StagedBlob) -> None:
        """Publish the staged bytes under their sha256, atomically; the same bytes already there are kept."""
        ...

    async def discard(self, staged: StagedBlob) -> None:
        """Drop staged bytes that will not be kept."""
        ...

    def open(self, sha256: str) -> AsyncIterator[bytes]:
        """The blob's bytes, in chunks."""
        ...

    async def exists(self, sha256: str) -> bool: ...

    async def delete(self, sha256: str) -> None:
        """Remove the blob (the caller has checked, under the lock, that no version references it)."""
        ...


class LocalDocumentStorage:
    """Blobs on a local disk: `root/ab/cd/abcd…` (the sha256's first two pairs of hex digits fan the folders out).

    Bytes are staged in `root/.staging` (the same file system as the blobs) and published by a rename, which is
    atomic: two uploads of the same bytes at once both rename a complete file over the same name.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError("not a sha256 in lowercase hex")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def _staging_path(self, key: str) -> Path:
        return self.root / _STAGING / f"{key}.part"

    async def stage(self, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StagedBlob:
        key = uuid.uuid4().hex
        path = self._staging_path(key)
        await to_thread.run_sync(lambda: path.parent.mkdir(parents=True, exist_ok=True))
        digest = hashlib.sha256()
        size = 0
        handle = await to_thread.run_sync(lambda: open(path, "xb"))  # noqa: SIM115 (closed below)
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise BlobTooLarge(max_bytes)
                digest.update(chunk)
                await to_thread.run_sync(handle.write, chunk)
            await to_thread.run_sync(_flush_to_disk, handle)
        except BaseException:
            handle.close()
            path.unlink(missing_ok=True)
            raise
        handle.close()
        return StagedBlob(sha256=digest.hexdigest(), size=size, staging_key=key)

    async def keep(self, staged: StagedBlob) -> None:
        await to_thread.run_sync(self._keep, staged)

    def _keep(self, staged: StagedBlob) -> None:
        source = self._staging_path(staged.staging_key)
        target = self.path_of(staged.sha256)
        if target.exists():
            source.unlink(missing_ok=True)  # the same bytes, already there
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    async def discard(self, staged: StagedBlob) -> None:
        await to_thread.run_sync(lambda: self._staging_path(staged.staging_key).unlink(missing_ok=True))

    async def open(self, sha256: str) -> AsyncIterator[bytes]:
        handle = await to_thread.run_sync(lambda: open(self.path_of(sha256), "rb"))  # noqa: SIM115
        try:
            while chunk := await to_thread.run_sync(handle.read, CHUNK_BYTES):
                yield chunk
        finally:
            handle.close()

    async def exists(self, sha256: str) -> bool:
        return await to_thread.run_sync(self.path_of(sha256).is_file)

    async def delete(self, sha256: str) -> None:
        await to_thread.run_sync(lambda: self.path_of(sha256).unlink(missing_ok=True))


def _flush_to_disk(handle: object) -> None:
    handle.flush()  # type: ignore[attr-defined]
    os.fsync(handle.fileno())  # type: ignore[attr-defined]
