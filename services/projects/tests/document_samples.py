"""Tiny files of each type the vault takes (and some it refuses), built here: the tests and the schemathesis run
upload them. `salt` makes files of the same type differ, so that each has its own sha256."""

import base64
import io
import zipfile
from collections.abc import Callable

from services.projects.documents.content_types import CSV, DOCX, JPEG, ODT, PDF, PNG, XLSX

_PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="
)


def pdf(salt: str = "") -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        + f"% {salt}\n".encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def png(salt: str = "") -> bytes:
    return _PNG_1X1 + salt.encode()  # bytes after IEND: still a PNG to a reader


def jpeg(salt: str = "") -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + salt.encode() + b"\xff\xd9"


def _zip(entries: list[tuple[str, bytes]], *, stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(entries):
            stored = stored_first and index == 0
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def odt(salt: str = "") -> bytes:
    # ODF: an uncompressed `mimetype` entry first.
    return _zip(
        [("mimetype", ODT.encode()), ("content.xml", f"<office:document-content>{salt}</office:document-content>"
                                      .encode())],
        stored_first=True,
    )


def docx(salt: str = "") -> bytes:
    return _zip([("[Content_Types].xml", b"<Types/>"), ("word/document.xml", f"<w:document>{salt}</w:document>"
                                                                           .encode())])


def xlsx(salt: str = "") -> bytes:
    return _zip([("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", f"<workbook>{salt}</workbook>".encode())])


def csv(salt: str = "") -> bytes:
    return f"nom;montant;note\nBlosne Avenir;1500;{salt}\nMaurepas;800;é\n".encode()


def ods(salt: str = "") -> bytes:
    return _zip([("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", salt.encode())],
                stored_first=True)


def plain_zip(salt: str = "") -> bytes:
    return _zip([("notes.txt", f"rien {salt}".encode())])


# Each allowed type: a builder, a file name and the type a client would declare.
ALLOWED: dict[str, tuple[Callable[[str], bytes], str, str]] = {
    PDF: (pdf, "statuts.pdf", PDF),
    PNG: (png, "rib.png", PNG),
    JPEG: (jpeg, "rib.jpg", JPEG),
    ODT: (odt, "rapport.odt", ODT),
    DOCX: (docx, "rapport.docx", DOCX),
    XLSX: (xlsx, "comptes.xlsx", XLSX),
    CSV: (csv, "comptes.csv", "text/csv"),
}
