"""What a file is, judged by its bytes (magic numbers, the entries of a ZIP archive), never by its name alone.

The vault takes PDF, PNG, JPEG, ODT, DOCX, XLSX and CSV. Anything else is named as precisely as cheaply possible,
so that the refusal can say what was sent.
"""

import codecs
import re
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"
ALLOWED_CONTENT_TYPES = (PDF, PNG, JPEG, ODT, DOCX, XLSX, CSV)

ZIP = "application/zip"
EMPTY = "application/x-empty"
UNKNOWN = "application/octet-stream"
TEXT = "text/plain"
HTML = "text/html"

# What a client may declare for a CSV file: browsers on Windows send Excel's type for a .csv.
CSV_DECLARED_TYPES = frozenset(
    {"text/csv", "application/csv", "text/comma-separated-values", "text/x-csv", "application/vnd.ms-excel"}
)
_HEAD = 4096
_CHUNK = 1 << 20
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"PK\x03\x04", ZIP),
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"\x1f\x8b", "application/gzip"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # .doc, .xls of old
)
# Bytes that plain text does not hold: C0 controls but tab, line feed, carriage return; and DEL.
_NOT_TEXT = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MARKUP = re.compile(r"^\s*<", re.ASCII)
_HTML_START = re.compile(r"^\s*<(!doctype\s+html|html|head|body|script|iframe|meta|title|div|a\s)", re.IGNORECASE)


@dataclass(frozen=True)
class ZipLimits:
    """What a ZIP-based document (ODT, DOCX, XLSX) may declare. A real one holds tens to a few hundred entries."""

    max_entries: int = 5_000
    max_uncompressed_bytes: int = 256 * 1024 * 1024
    max_ratio: int = 200


# An entry smaller than this may compress as well as it likes: a page of blanks is not a bomb.
_RATIO_FLOOR_BYTES = 1024 * 1024
_CENTRAL_ENTRY = b"PK\x01\x02"


class ArchiveRefused(Exception):
    """A ZIP whose central directory declares more than `ZipLimits` allow: `limit` names which, `value` what the
    archive declares."""

    def __init__(self, limit: str, value: int, cap: int):
        super().__init__(f"{limit}: {value} > {cap}")
        self.limit, self.value, self.cap = limit, value, cap


def sniff(file: BinaryIO, *, filename: str, declared: str, zip_limits: ZipLimits = ZipLimits()) -> str:
    """The content type of the file's bytes, allowed or not; read from its start and left at its start.
    Raises `ArchiveRefused` for a ZIP over `zip_limits`."""
    file.seek(0)
    try:
        head = file.read(_HEAD)
        if not head:
            return EMPTY
        for magic, content_type in _MAGIC:
            if head.startswith(magic):
                return _zip_document(file, zip_limits) if content_type == ZIP else content_type
        return _text(file, filename=filename, declared=declared)
    finally:
        file.seek(0)


def _check_central_directory(file: BinaryIO, limits: ZipLimits) -> None:
    """Counts the central directory's entries before `zipfile` parses them: it builds one object per entry, and
    120,000 of them (a 10 MB upload) cost 3.6 s and hundreds of MB. The end record locates the directory (the
    private `_EndRecData`, which also reads ZIP64's); its signatures are counted in C, since the end record's own
    total can lie; a name that happens to hold a signature only makes the count stricter."""
    file.seek(0)
    end = zipfile._EndRecData(file)  # type: ignore[attr-defined]
    if end is None:
        return  # no end record: zipfile will call it damaged, a mere ZIP
    size, offset = end[zipfile._ECD_SIZE], end[zipfile._ECD_OFFSET]  # type: ignore[attr-defined]
    declared = end[zipfile._ECD_ENTRIES_TOTAL]  # type: ignore[attr-defined]
    file.seek(0, 2)
    size = max(0, min(size, file.tell()))
    file.seek(max(0, min(offset, file.tell() - size)))
    entries = max(declared, file.read(size).count(_CENTRAL_ENTRY))
    if entries > limits.max_entries:
        raise ArchiveRefused("entries", entries, limits.max_entries)


def _check_declared_sizes(archive: zipfile.ZipFile, limits: ZipLimits) -> None:
    """What the entries say they inflate to, from the directory alone (nothing is inflated to find out)."""
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise ArchiveRefused("uncompressed_bytes", total, limits.max_uncompressed_bytes)
    for info in infos:
        if info.file_size > _RATIO_FLOOR_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ArchiveRefused("ratio", info.file_size // max(info.compress_size, 1), limits.max_ratio)


def _zip_document(file: BinaryIO, limits: ZipLimits) -> str:
    """ODT names itself in a first `mimetype` entry; DOCX and XLSX by their main part. Only the central directory
    and a few bytes of `mimetype` are read: a ZIP bomb is never inflated, and one whose directory declares too
    much is refused before it is parsed."""
    try:
        _check_central_directory(file, limits)
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            _check_declared_sizes(archive, limits)
            names = set(archive.namelist())
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    declared = entry.read(100).decode("ascii", errors="replace").strip()
                if declared == ODT:
                    return ODT
                if declared.startswith("application/vnd.oasis.opendocument."):
                    return declared  # a spreadsheet or a presentation: named, then refused
            if "word/document.xml" in names:
                return DOCX
            if "xl/workbook.xml" in names:
                return XLSX
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError,
            NotImplementedError, KeyError):
        pass  # damaged, encrypted or exotic: a ZIP file and nothing more
    return ZIP


def _text(file: BinaryIO, *, filename: str, declared: str) -> str:
    """UTF-8 text (or Windows-1252, as French spreadsheets export it) without control bytes; a CSV when its name
    or its declared type says so, markup never (HTML dressed as a CSV stays HTML)."""
    file.seek(0)
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = is_cp1252 = True
    while chunk := file.read(_CHUNK):
        if _NOT_TEXT.search(chunk):
            return UNKNOWN
        if is_utf8:
            try:
                utf8.decode(chunk)
            except UnicodeDecodeError:
                is_utf8 = False
        try:
            chunk.decode("cp1252")
        except UnicodeDecodeError:  # bytes that Windows-1252 leaves undefined
            is_cp1252 = False
        if not (is_utf8 or is_cp1252):
            return UNKNOWN
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    if not (is_utf8 or is_cp1252):
        return UNKNOWN
    file.seek(0)
    first = file.read(_HEAD).decode("utf-8" if is_utf8 else "cp1252", errors="ignore").removeprefix("\ufeff")
    if _MARKUP.match(first):
        return HTML if _HTML_START.match(first) or "<html" in first.lower() else "application/xml"
    if filename.lower().endswith(".csv") or declared in CSV_DECLARED_TYPES:
        return CSV
    return TEXT
