"""The vault's parts on their own: content sniffing, names sent by clients, the local content-addressed storage."""

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from services.projects.documents import uploads as documents
from services.projects.documents.content_types import (
    ALLOWED_CONTENT_TYPES,
    CSV,
    DOCX,
    ODT,
    PDF,
    XLSX,
    ArchiveRefused,
    ZipLimits,
    sniff,
)
from services.projects.documents.storage import BlobTooLarge, LocalDocumentStorage
from services.projects.tests import document_samples as samples


def sniffed(content: bytes, filename: str = "fichier", declared: str = "application/octet-stream") -> str:
    file = io.BytesIO(content)
    file.seek(3)
    result = sniff(file, filename=filename, declared=declared)
    assert file.tell() == 0  # left at its start, for whoever reads it next
    return result


class TestSniff:
    @pytest.mark.parametrize("content_type", sorted(samples.ALLOWED))
    def test_each_sample_is_what_it_says(self, content_type: str) -> None:
        build, filename, declared = samples.ALLOWED[content_type]
        assert sniffed(build("x"), filename, declared) == content_type
        assert content_type in ALLOWED_CONTENT_TYPES

    def test_zip_documents_are_told_apart_by_their_entries(self) -> None:
        def archive(*names: str, mimetype: bytes | None = None) -> bytes:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as zipped:
                if mimetype is not None:
                    zipped.writestr("mimetype", mimetype)
                for name in names:
                    zipped.writestr(name, b"<x/>")
            return buffer.getvalue()

        assert sniffed(archive("content.xml", mimetype=ODT.encode())) == ODT
        assert sniffed(archive("word/document.xml")) == DOCX
        assert sniffed(archive("xl/workbook.xml")) == XLSX
        assert sniffed(archive("ppt/presentation.xml")) == "application/zip"
        assert sniffed(archive(mimetype=b"application/vnd.oasis.opendocument.presentation")) == (
            "application/vnd.oasis.opendocument.presentation"
        )
        assert sniffed(b"PK\x03\x04" + b"\x00" * 100) == "application/zip"

    def test_a_zip_bomb_is_refused_by_its_ratio_without_being_inflated(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
            zipped.writestr("word/document.xml", b"\x00" * 50_000_000)  # 50 MB of zeros, a few KB compressed
        content = buffer.getvalue()
        assert len(content) < 100_000
        with pytest.raises(ArchiveRefused) as refused:
            sniffed(content)  # judged by its central directory, never decompressed
        assert refused.value.limit == "ratio" and refused.value.value > 200

    def test_a_well_compressed_small_entry_is_no_bomb(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
            zipped.writestr("word/document.xml", b" " * 500_000)  # 1000:1, but half a megabyte
        assert sniffed(buffer.getvalue()) == DOCX

    def test_declared_sizes_over_the_cap_are_refused(self) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zipped:
            zipped.writestr("xl/workbook.xml", b"<workbook/>")
        with pytest.raises(ArchiveRefused) as refused:
            sniff(io.BytesIO(buffer.getvalue()), filename="a.xlsx", declared="",
                  zip_limits=ZipLimits(max_uncompressed_bytes=10))
        assert refused.value.limit == "uncompressed_bytes"

    def test_too_many_entries_are_refused_before_the_directory_is_parsed(self, monkeypatch) -> None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zipped:
            zipped.writestr("word/document.xml", b"<w/>")
            for number in range(60):
                zipped.writestr(f"{number}", b"")
        content = bytearray(buffer.getvalue())
        end = content.rfind(b"PK\x05\x06")
        content[end + 8:end + 12] = (1).to_bytes(2, "little") * 2  # the end record claims one entry

        def parse(*_args, **_kwargs):
            raise AssertionError("zipfile parsed a directory that its entries' count refuses")

        monkeypatch.setattr(zipfile, "ZipFile", parse)  # the slow part (3.6 s for 120,000 entries) never runs
        with pytest.raises(ArchiveRefused) as refused:
            sniff(io.BytesIO(bytes(content)), filename="a.docx", declared="", zip_limits=ZipLimits(max_entries=50))
        assert (refused.value.limit, refused.value.value) == ("entries", 61)

    @pytest.mark.parametrize(
        ("content", "filename", "declared", "expected"),
        [
            (b"a;b\n1;2\n", "x.csv", "application/octet-stream", CSV),
            (b"a;b\n1;2\n", "x.txt", "text/csv", CSV),
            (b"a;b\n1;2\n", "x.txt", "text/plain", "text/plain"),
            (b"\xef\xbb\xbfnom;ville\nA;R\xc3\xa9nes\n", "x.csv", "text/csv", CSV),
            ("nom;ville\nA;Rénes\n".encode("cp1252"), "x.csv", "text/csv", CSV),
            (b"a;b\n\x81\x8d;2\n", "x.csv", "text/csv", "application/octet-stream"),
            (b"a;b\x00\n", "x.csv", "text/csv", "application/octet-stream"),
            (b"<?xml version='1.0'?><svg/>", "x.csv", "text/csv", "application/xml"),
            (b"\n <!doctype html><p>", "x.csv", "text/csv", "text/html"),
            (b"", "x.csv", "text/csv", "application/x-empty"),
        ],
        ids=["csv-by-name", "csv-by-type", "text", "utf8-bom", "windows-1252", "undefined-bytes", "nul", "xml",
             "html", "empty"],
    )
    def test_text(self, content: bytes, filename: str, declared: str, expected: str) -> None:
        assert sniffed(content, filename, declared) == expected

    def test_a_text_spread_over_chunks_is_read_whole(self) -> None:
        content = ("é" * 700_000).encode() + b"\x01"  # the control byte is past the first megabyte
        assert sniffed(content, "x.csv", "text/csv") == "application/octet-stream"
        assert sniffed(("é" * 700_000).encode(), "x.csv", "text/csv") == CSV

    def test_magic_numbers_win_over_names(self) -> None:
        assert sniffed(samples.png(), "statuts.pdf", PDF) == "image/png"
        assert sniffed(b"MZ\x90\x00", "statuts.pdf", PDF) == "application/x-msdownload"
        assert sniffed(b"\x7fELF\x02", "x.csv", "text/csv") == "application/x-executable"


class TestNames:
    @pytest.mark.parametrize(
        ("raw", "kept"),
        [
            ("statuts.pdf", "statuts.pdf"),
            ("../../etc/passwd", "passwd"),
            ("C:\\Users\\a\\rib.png", "rib.png"),
            ("...", "document"),
            (".htaccess", "htaccess"),
            ("", "document"),
            (None, "document"),
            ("a\x00b\r\nc.pdf", "abc.pdf"),
            ("facture\u202efdp.exe", "facturefdp.exe"),
            ("e\u0301te\u0301.pdf", "été.pdf"),
        ],
    )
    def test_safe_filename(self, raw: str | None, kept: str) -> None:
        assert documents.safe_filename(raw) == kept

    def test_a_long_name_keeps_its_extension(self) -> None:
        kept = documents.safe_filename("a" * 500 + ".pdf")
        assert len(kept) == documents.MAX_FILENAME and kept.endswith(".pdf")

    def test_content_disposition(self) -> None:
        header = documents.content_disposition('Procès-verbal "AG"; 100%.pdf')
        assert header == (
            'attachment; filename="Proc_s-verbal _AG__ 100_.pdf"; '
            "filename*=UTF-8''Proc%C3%A8s-verbal%20%22AG%22%3B%20100%25.pdf"
        )
        header.encode("ascii")  # an HTTP header: ASCII only

    @pytest.mark.parametrize(
        ("raw", "kept"),
        [
            ("application/pdf", "application/pdf"),
            ("Text/CSV; charset=utf-8", "text/csv"),
            (None, "application/octet-stream"),
            ("pdf", "application/octet-stream"),
            ("text/html\r\nX-Evil: 1", "application/octet-stream"),
            ("a/" + "b" * 200, "application/octet-stream"),
        ],
    )
    def test_declared_type(self, raw: str | None, kept: str) -> None:
        assert documents.declared_type(raw) == kept


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


class TestLocalStorage:
    def test_stage_keep_open_delete(self, tmp_path: Path) -> None:
        storage = LocalDocumentStorage(tmp_path)

        async def run() -> None:
            staged = await storage.stage(_chunks(b"hello ", b"world"), max_bytes=100)
            sha256 = hashlib.sha256(b"hello world").hexdigest()
            assert (staged.sha256, staged.size) == (sha256, 11)
            assert not await storage.exists(sha256)
            await storage.keep(staged)
            assert await storage.exists(sha256)
            assert storage.path_of(sha256) == tmp_path / sha256[:2] / sha256[2:4] / sha256
            assert b"".join([chunk async for chunk in storage.open(sha256)]) == b"hello world"
            again = await storage.stage(_chunks(b"hello world"), max_bytes=100)
            await storage.keep(again)  # the same bytes: kept once
            assert list((tmp_path / ".staging").iterdir()) == []
            await storage.delete(sha256)
            assert not await storage.exists(sha256)
            await storage.delete(sha256)  # already gone: nothing to do

        anyio.run(run)

    def test_too_large_leaves_nothing(self, tmp_path: Path) -> None:
        storage = LocalDocumentStorage(tmp_path)

        async def run() -> None:
            with pytest.raises(BlobTooLarge):
                await storage.stage(_chunks(b"x" * 60, b"x" * 60), max_bytes=100)

        anyio.run(run)
        assert list((tmp_path / ".staging").iterdir()) == []

    def test_discard(self, tmp_path: Path) -> None:
        storage = LocalDocumentStorage(tmp_path)

        async def run() -> None:
            staged = await storage.stage(_chunks(b"abc"), max_bytes=100)
            await storage.discard(staged)
            assert not await storage.exists(staged.sha256)

        anyio.run(run)
        assert list((tmp_path / ".staging").iterdir()) == []

    @pytest.mark.parametrize("name", ["../../etc/passwd", "ABCDEF" * 10 + "abcd", "0" * 63])
    def test_only_a_sha256_names_a_blob(self, tmp_path: Path, name: str) -> None:
        with pytest.raises(ValueError, match="sha256"):
            LocalDocumentStorage(tmp_path).path_of(name)
