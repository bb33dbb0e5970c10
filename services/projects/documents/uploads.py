"""What the vault receives: the client's file name and declared type, kept for display and never trusted; the
file measured, judged by its bytes (a bounded thread pool sniffs it) and staged in the storage until kept."""

import functools
import re
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote

from anyio import CapacityLimiter, to_thread
from fastapi import UploadFile

from common.problems import PayloadTooLarge, Problem, Text, UnprocessableContent
from services.projects.documents.content_types import ALLOWED_CONTENT_TYPES, ArchiveRefused, ZipLimits, sniff
from services.projects.documents.storage import CHUNK_BYTES, BlobTooLarge, DocumentStorage, StagedBlob
from services.projects.models import PER_YEAR_KINDS

_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
MAX_FILENAME = 200


# --- names and types a client sends: kept for display, never trusted ---------------------------------------------


def safe_filename(raw: str | None) -> str:
    """The last segment of the client's name, without control or invisible characters (a right-to-left override
    could dress `exe.pdf` up) nor leading dots; display metadata only, never a path."""
    name = unicodedata.normalize("NFC", raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if not unicodedata.category(c).startswith("C")).strip().lstrip(".").strip()
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        extension = extension[:20] if dot else ""
        name = (stem if dot else name)[: MAX_FILENAME - len(extension) - 1].rstrip() + (f".{extension}" if dot else "")
    return name or "document"


def declared_type(raw: str | None) -> str:
    value = (raw or "").split(";")[0].strip().lower()
    return value if len(value) <= 100 and _MEDIA_TYPE.match(value) else "application/octet-stream"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name in `filename*` (RFC 6266, RFC 8187)."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%;' else "_" for c in filename) or "document"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


# --- the file itself ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    staged: StagedBlob
    content_type: str
    declared_content_type: str
    filename: str


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        Text(
            f"Le fichier dépasse la taille maximale de {max_bytes} octets.",
            f"The file is larger than the maximum of {max_bytes} bytes.",
        ),
        code="document_too_large",
        extra={"max_bytes": max_bytes},
    )


def _unsupported(sniffed: str, declared: str) -> Problem:
    allowed = ", ".join(ALLOWED_CONTENT_TYPES)
    return Problem(
        Text(
            f"Le contenu du fichier est de type {sniffed}, qui n'est pas accepté (acceptés : {allowed}).",
            f"The file's content is {sniffed}, which is not accepted (accepted: {allowed}).",
        ),
        status=415,
        code="unsupported_document_type",
        title=Text("Type de fichier refusé", "File type refused"),
        errors=[("body.file", Text(f"Contenu de type {sniffed}.", f"Content of type {sniffed}."))],
        extra={
            "sniffed_content_type": sniffed,
            "declared_content_type": declared,
            "allowed_content_types": list(ALLOWED_CONTENT_TYPES),
        },
    )


_ARCHIVE_LIMITS = {
    "entries": Text("entrées", "entries"),
    "uncompressed_bytes": Text("octets une fois décompressé", "bytes once uncompressed"),
    "ratio": Text("fois sa taille compressée pour une entrée", "times its compressed size for one entry"),
}


def _archive_refused(refused: ArchiveRefused) -> Problem:
    what = _ARCHIVE_LIMITS[refused.limit]
    return UnprocessableContent(
        Text(
            f"L'archive du document déclare {refused.value} {what.fr} (au plus {refused.cap}).",
            f"The document's archive declares {refused.value} {what.en} (at most {refused.cap}).",
        ),
        code="document_archive_refused",
        errors=[("body.file", Text("Archive refusée.", "Archive refused."))],
        extra={"limit": refused.limit, "declared": refused.value, "max": refused.cap},
    )


# Sniffing reads and parses in a thread, never on the event loop; two at once at most (the desk's two cores), so
# that a burst of heavy uploads queues here rather than taking every worker thread of the process.


# Sniffing reads and parses in a thread, never on the event loop; two at once at most (the desk's two cores), so
# that a burst of heavy uploads queues here rather than taking every worker thread of the process.
_SNIFFERS = CapacityLimiter(2)


def check_year(kind: str, year: int | None) -> None:
    if kind in PER_YEAR_KINDS and year is None:
        message = Text("Exercice requis pour ce type de document.", "A year is required for this kind of document.")
    elif kind not in PER_YEAR_KINDS and year is not None:
        message = Text("Ce type de document n'a pas d'exercice.", "This kind of document has no year.")
    else:
        return
    raise UnprocessableContent(
        Text("Certains champs sont invalides.", "Some fields are invalid."), errors=[("body.year", message)]
    )


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    await upload.seek(0)
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk


async def receive(
    storage: DocumentStorage, upload: UploadFile, *, max_bytes: int, zip_limits: ZipLimits = ZipLimits()
) -> Received:
    """Measure the file, judge it by its bytes, and stage it in the storage (not yet published)."""
    if upload.size is not None and upload.size > max_bytes:
        raise _too_large(max_bytes)
    filename = safe_filename(upload.filename)
    declared = declared_type(upload.content_type)
    judge = functools.partial(sniff, upload.file, filename=filename, declared=declared, zip_limits=zip_limits)
    try:
        sniffed = await to_thread.run_sync(judge, limiter=_SNIFFERS)
    except ArchiveRefused as refused:
        raise _archive_refused(refused) from refused
    if sniffed not in ALLOWED_CONTENT_TYPES:
        raise _unsupported(sniffed, declared)
    try:
        staged = await storage.stage(_chunks(upload), max_bytes=max_bytes)
    except BlobTooLarge as exc:
        raise _too_large(max_bytes) from exc
    return Received(staged=staged, content_type=sniffed, declared_content_type=declared, filename=filename)


@asynccontextmanager
async def received_file(
    storage: DocumentStorage, upload: UploadFile, *, max_bytes: int, zip_limits: ZipLimits = ZipLimits()
) -> AsyncIterator[Received]:
    """`receive`, then the staged copy discarded whatever happens (nothing is left of it once kept)."""
    received = await receive(storage, upload, max_bytes=max_bytes, zip_limits=zip_limits)
    try:
        yield received
    finally:
        await storage.discard(received.staged)
