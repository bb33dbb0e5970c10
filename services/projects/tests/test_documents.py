"""The documents vault: uploads judged by their bytes and measured, content-addressed storage, versions, downloads,
pins by submitted dossiers, compliance; each organisation sees only its own."""

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql import ClauseElement

from services.identity.keys import KeyStore
from services.projects.documents import pins, repository
from services.projects.documents.content_types import CSV, PDF, PNG
from services.projects.documents.storage import LocalDocumentStorage
from services.projects.models import Document, DocumentPin, DocumentVersion
from services.projects.tests import document_samples as samples
from services.projects.tests import test_reports as report_tests
from services.projects.tests.helpers import at_once
from tests.support import calls
from tests.support.clock import TODAY
from tests.support.stack import Api, problem
from tests.support.tokens import claims_for
from tests.support.world import (
    CITIZEN,
    CITY_INSTRUCTOR,
    DESK,
    HOLDER,
    HOLDER_MEMBER,
    OTHER_HOLDER,
    World,
    org_id,
)

DOCUMENTS = "/api/v1/documents"
PINS = f"{DOCUMENTS}/pins"
COMPLIANCE = f"{DOCUMENTS}/compliance"
TODAY = TODAY


def salt() -> str:
    return uuid.uuid4().hex


def upload(
    api: Api,
    content: bytes | None = None,
    *,
    kind: str = "statutes",
    filename: str = "statuts.pdf",
    content_type: str = PDF,
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> httpx.Response:
    data = {"kind": kind, **{name: str(value) for name, value in fields.items() if value is not None}}
    content = samples.pdf(salt()) if content is None else content
    return api.post(DOCUMENTS, data=data, files={"file": (filename, content, content_type)}, headers=headers or {})


def created(api: Api, content: bytes | None = None, **kwargs: Any) -> tuple[dict[str, Any], str]:
    """A document made through the API, and its ETag."""
    response = upload(api, content, **kwargs)
    assert response.status_code == 201, response.text
    return response.json(), response.headers["etag"]


def new_version(
    api: Api, document_id: str, content: bytes, etag: str | None, *, filename: str = "v2.pdf",
    content_type: str = PDF, **fields: Any,
) -> httpx.Response:
    headers = {"If-Match": etag} if etag is not None else {}
    data = {name: str(value) for name, value in fields.items() if value is not None}
    return api.post(
        f"{DOCUMENTS}/{document_id}/versions", data=data, files={"file": (filename, content, content_type)},
        headers=headers,
    )


def content_url(document_id: str, version_id: str) -> str:
    return f"{DOCUMENTS}/{document_id}/versions/{version_id}/content"


def version_url(document_id: str, version_id: str) -> str:
    return f"{DOCUMENTS}/{document_id}/versions/{version_id}"


def storage(world: World) -> LocalDocumentStorage:
    return world.stack.apps["projects"].state.document_storage


def blobs(world: World) -> set[str]:
    """The sha256 of every blob on disk."""
    root = storage(world).root
    return {path.name for path in root.glob("*/*/*") if path.is_file()} if root.exists() else set()


def staged_leftovers(world: World) -> list[Path]:
    return list((storage(world).root / ".staging").glob("*"))


def counts(world: World) -> tuple[int, int, int]:
    """Rows of documents, versions and pins, whoever owns them."""

    async def run() -> tuple[int, int, int]:
        async with world.stack.apps["projects"].state.db.reader() as session:
            return tuple(
                [
                    (await session.execute(select(func.count()).select_from(model))).scalar_one()
                    for model in (Document, DocumentVersion, DocumentPin)
                ]
            )

    return world.stack.run(run)


@pytest.fixture(autouse=True)
def empty_storage(world: World) -> None:
    """Each test starts with no blob (the databases are emptied by `world`)."""
    root = storage(world).root
    if root.exists():
        for path in sorted(root.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()


@contextmanager
def recorded(log: list[str]) -> Iterator[None]:
    """Each statement the sessions execute, rendered for PostgreSQL: SQLite has no row locks to show their order."""

    def record(state: ORMExecuteState) -> None:
        try:
            log.append(str(cast(ClauseElement, state.statement).compile(dialect=postgresql.dialect())))
        except AttributeError:  # SQLite's own INSERT … ON CONFLICT
            log.append(str(state.statement))

    event.listen(Session, "do_orm_execute", record)
    try:
        yield
    finally:
        event.remove(Session, "do_orm_execute", record)


def first(log: list[str], *parts: str) -> int:
    """Where the first statement holding every part is in the log."""
    return next(index for index, statement in enumerate(log) if all(part in statement for part in parts))


def orphan_document(world: World) -> str:
    """A document row without a version: what a reader meets when a delete takes its last version meanwhile."""

    async def run() -> str:
        async with world.stack.apps["projects"].state.db.writer() as session:
            document = Document(organisation_id=uuid.UUID(org_id("blosne-avenir")), kind="other", created_by="test")
            session.add(document)
            await session.commit()
            return str(document.id)

    return world.stack.run(run)


def assert_nothing_written(world: World, before_blobs: set[str], before_counts: tuple[int, int, int]) -> None:
    assert counts(world) == before_counts
    assert blobs(world) == before_blobs
    assert staged_leftovers(world) == []


class TestUpload:
    @pytest.mark.parametrize("content_type", sorted(samples.ALLOWED))
    def test_each_allowed_type_is_taken(self, world: World, content_type: str) -> None:
        build, filename, declared = samples.ALLOWED[content_type]
        content = build(salt())
        response = upload(world.as_("projects", HOLDER), content, filename=filename, content_type=declared,
                          label="Statuts 2024", valid_until="2030-01-31")
        assert response.status_code == 201, response.text
        document = response.json()
        assert response.headers["location"] == f"{DOCUMENTS}/{document['id']}"
        assert response.headers["etag"] == '"1"'
        assert (document["kind"], document["year"], document["label"]) == ("statutes", None, "Statuts 2024")
        assert document["organisation_id"] == org_id("blosne-avenir")
        version = document["current_version"]
        assert document["versions"] == [version]
        sha256 = hashlib.sha256(content).hexdigest()
        assert version["number"] == 1
        assert (version["content_type"], version["declared_content_type"]) == (content_type, declared)
        assert (version["sha256"], version["size_bytes"], version["filename"]) == (sha256, len(content), filename)
        assert version["valid_until"] == "2030-01-31" and version["pinned_by_dossiers"] == []
        stored = storage(world).root / sha256[:2] / sha256[2:4] / sha256
        assert stored.read_bytes() == content
        assert blobs(world) == {sha256}

    def test_the_bytes_decide_not_the_name(self, world: World) -> None:
        content = samples.png(salt())
        document, _ = created(world.as_("projects", HOLDER), content, filename="rib.pdf", content_type=PDF,
                              kind="bank_details")
        version = document["current_version"]
        assert (version["content_type"], version["declared_content_type"]) == (PNG, PDF)
        download = world.as_("projects", HOLDER).get(content_url(document["id"], version["id"]))
        assert download.headers["content-type"] == PNG

    @pytest.mark.parametrize(
        ("filename", "declared", "content", "sniffed"),
        [
            ("setup.exe", "application/octet-stream", b"MZ\x90\x00" + b"\x00" * 60, "application/x-msdownload"),
            ("statuts.pdf", PDF, b"MZ\x90\x00" + b"\x00" * 60, "application/x-msdownload"),
            ("page.html", "text/html", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "text/html"),
            ("comptes.csv", "text/csv", b"  <html><body><script>x()</script></body></html>\n", "text/html"),
            ("archive.zip", "application/zip", samples.plain_zip(), "application/zip"),
            ("rapport.docx", samples.DOCX, b"PK\x03\x04 not really a zip", "application/zip"),
            ("tableur.ods", "application/vnd.oasis.opendocument.spreadsheet", samples.ods(),
             "application/vnd.oasis.opendocument.spreadsheet"),
            ("notes.txt", "text/plain", b"Compte rendu de l'AG\n", "text/plain"),
            ("comptes.csv", "text/csv", b"nom;montant\x00\x01\n", "application/octet-stream"),
            ("image.gif", "image/gif", b"GIF89a\x01\x00\x01\x00", "image/gif"),
            ("vide.pdf", PDF, b"", "application/x-empty"),
        ],
        ids=["exe", "exe-named-pdf", "html", "html-named-csv", "zip-without-entries", "broken-zip", "ods", "txt",
             "binary-named-csv", "gif", "empty"],
    )
    def test_other_contents_are_refused_by_their_bytes(
        self, world: World, filename: str, declared: str, content: bytes, sniffed: str
    ) -> None:
        before = blobs(world), counts(world)
        response = upload(world.as_("projects", HOLDER), content, filename=filename, content_type=declared)
        body = problem(response)
        assert response.status_code == 415
        assert body["code"] == "unsupported_document_type"
        assert (body["sniffed_content_type"], body["declared_content_type"]) == (sniffed, declared)
        assert PDF in body["allowed_content_types"]
        assert body["errors"][0]["field"] == "body.file"
        assert_nothing_written(world, *before)

    def test_a_refusal_speaks_english_on_request(self, world: World) -> None:
        response = upload(world.as_("projects", HOLDER), b"MZ" + b"\x00" * 10, headers={"Accept-Language": "en"})
        assert problem(response)["detail"].startswith("The file's content is application/x-msdownload")
        french = upload(world.as_("projects", HOLDER), b"MZ" + b"\x00" * 10)
        assert problem(french)["detail"].startswith("Le contenu du fichier est de type application/x-msdownload")

    def test_a_csv_from_a_french_spreadsheet_in_windows_1252_is_taken(self, world: World) -> None:
        content = "nom;montant\nCafé des habitants;1500\n".encode("cp1252")
        document, _ = created(world.as_("projects", HOLDER), content, filename="comptes.csv",
                              content_type="application/vnd.ms-excel", kind="other")
        assert document["current_version"]["content_type"] == CSV

    def test_one_byte_over_the_limit_is_413_and_nothing_is_stored(self, world: World) -> None:
        limit = world.stack.settings["projects"].documents_max_bytes
        content = samples.pdf()
        content += b"%" * (limit + 1 - len(content))
        before = blobs(world), counts(world)
        response = upload(world.as_("projects", HOLDER), content)
        body = problem(response)
        assert response.status_code == 413
        assert (body["code"], body["max_bytes"]) == ("document_too_large", limit)
        assert_nothing_written(world, *before)

    def test_exactly_the_limit_is_taken(self, world: World) -> None:
        limit = world.stack.settings["projects"].documents_max_bytes
        content = samples.pdf(salt())
        content += b"%" * (limit - len(content))
        document, _ = created(world.as_("projects", HOLDER), content)
        assert document["current_version"]["size_bytes"] == limit
        assert blobs(world) == {hashlib.sha256(content).hexdigest()}

    def test_a_body_far_over_the_limit_is_refused_while_it_streams(self, world: World) -> None:
        """Without a Content-Length the service counts what arrives and stops past the limit."""
        limit = world.stack.settings["projects"].documents_max_bytes
        api = world.as_("projects", HOLDER)
        before = blobs(world), counts(world)

        async def chunks():
            yield b"--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nstatutes\r\n"
            yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n%PDF-"
            for _ in range(limit // (1 << 20) + 2):
                yield b"%" * (1 << 20)
            yield b"\r\n--b--\r\n"

        response = api.post(DOCUMENTS, content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert response.status_code == 413
        assert problem(response)["code"] == "payload_too_large"
        assert_nothing_written(world, *before)

    def test_a_declared_length_over_the_limit_is_refused_before_reading(self, world: World) -> None:
        limit = world.stack.settings["projects"].documents_max_bytes
        response = world.as_("projects", HOLDER).post(
            DOCUMENTS, content=b"x", headers={"Content-Type": "multipart/form-data; boundary=b",
                                              "Content-Length": str(limit * 2)},
        )
        assert problem(response)["status"] == 413

    @pytest.mark.parametrize(
        ("sent", "kept", "fallback"),
        [
            ("../../etc/passwd", "passwd", "passwd"),
            ("..\\..\\windows\\system.ini", "system.ini", "system.ini"),
            ("/var/lib/statuts.pdf", "statuts.pdf", "statuts.pdf"),
            ("..", "document", "document"),
            ("Compte rendu «2025»; 100%.pdf", "Compte rendu «2025»; 100%.pdf", "Compte rendu _2025__ 100_.pdf"),
            ("facture\u202efdp.exe", "facturefdp.exe", "facturefdp.exe"),
        ],
        ids=["unix-path", "windows-path", "absolute", "dots", "quotes-and-accents", "right-to-left-override"],
    )
    def test_a_filename_is_display_metadata_only(self, world: World, sent: str, kept: str, fallback: str) -> None:
        api = world.as_("projects", HOLDER)
        content = samples.pdf(salt())
        document, _ = created(api, content, filename=sent)
        version = document["current_version"]
        assert version["filename"] == kept
        sha256 = hashlib.sha256(content).hexdigest()
        assert [p.relative_to(storage(world).root).as_posix() for p in storage(world).root.rglob("*") if p.is_file()] \
            == [f"{sha256[:2]}/{sha256[2:4]}/{sha256}"]
        download = api.get(content_url(document["id"], version["id"]))
        disposition = download.headers["content-disposition"]
        assert disposition.startswith(f'attachment; filename="{fallback}"; filename*=UTF-8\'\'')
        assert httpx.URL("http://x/?" + "f=" + disposition.split("''", 1)[1]).params["f"] == kept
        assert "/" not in disposition.split("filename=", 1)[1].split(";", 1)[0]

    def test_per_year_kinds_need_a_year_and_others_refuse_one(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        before = blobs(world), counts(world)
        for kind, year in (("approved_accounts", None), ("activity_report", None), ("statutes", 2025)):
            body = problem(upload(api, kind=kind, year=year))
            assert body["status"] == 422 and [e["field"] for e in body["errors"]] == ["body.year"]
        assert_nothing_written(world, *before)
        document, _ = created(api, kind="approved_accounts", year=2025)
        assert (document["kind"], document["year"]) == ("approved_accounts", 2025)

    @pytest.mark.parametrize(
        ("data", "files", "field"),
        [
            ({"kind": "passport"}, True, "body.kind"),
            ({"kind": "approved_accounts", "year": "deux mille"}, True, "body.year"),
            ({"kind": "approved_accounts", "year": "1850"}, True, "body.year"),
            ({"kind": "statutes", "valid_until": "2026-13-01"}, True, "body.valid_until"),
            ({"kind": "statutes", "valid_until": "0"}, True, "body.valid_until"),
            ({"kind": "statutes", "label": "x" * 201}, True, "body.label"),
            ({"kind": "statutes", "label": "nul\x00"}, True, "body.label"),
            ({"kind": "statutes", "organisation_id": str(uuid.uuid4())}, True, "body.organisation_id"),
            ({"kind": "statutes"}, False, "body.file"),
            ({"kind": "statutes", "file": "pas un fichier"}, False, "body.file"),
            ({}, True, "body.kind"),
        ],
        ids=["kind", "year-text", "year-range", "date", "timestamp", "label-long", "label-nul", "extra-field",
             "no-file", "file-as-text", "no-kind"],
    )
    def test_bad_fields_are_422_and_write_nothing(
        self, world: World, data: dict[str, str], files: bool, field: str
    ) -> None:
        before = blobs(world), counts(world)
        response = world.as_("projects", HOLDER).post(
            DOCUMENTS, data=data, files={"file": ("a.pdf", samples.pdf(), PDF)} if files else {"x": ("", b"")},
        )
        body = problem(response)
        assert body["status"] == 422
        assert field in [e["field"] for e in body["errors"]]
        assert_nothing_written(world, *before)

    def test_a_json_body_is_not_a_form(self, world: World) -> None:
        response = world.as_("projects", HOLDER).post(DOCUMENTS, json={"kind": "statutes"})
        assert problem(response)["status"] == 422

    def test_a_member_uploads_too(self, world: World) -> None:
        document, _ = created(world.as_("projects", HOLDER_MEMBER))
        assert document["organisation_id"] == org_id("blosne-avenir")

    @pytest.mark.parametrize("email", [CITIZEN, CITY_INSTRUCTOR, DESK])
    def test_only_the_association_uploads(self, world: World, email: str) -> None:
        before = blobs(world), counts(world)
        assert problem(upload(world.as_("projects", email)))["status"] == 403
        assert_nothing_written(world, *before)

    def test_a_service_token_does_not_upload(self, world: World) -> None:
        assert problem(upload(world.as_service("projects")))["status"] == 403

    def test_without_a_token_401(self, world: World) -> None:
        assert problem(upload(world.stack.api("projects")))["status"] == 401


class TestSameBytes:
    def test_the_same_bytes_twice_make_one_blob(self, world: World) -> None:
        content = samples.pdf(salt())
        api = world.as_("projects", HOLDER)
        first, _ = created(api, content)
        second, _ = created(api, content, kind="other")
        assert first["id"] != second["id"]
        assert first["current_version"]["sha256"] == second["current_version"]["sha256"]
        assert blobs(world) == {hashlib.sha256(content).hexdigest()}

    def test_two_uploads_of_the_same_bytes_at_once(self, world: World) -> None:
        content = samples.pdf(salt())
        call = ("POST", DOCUMENTS, {"data": {"kind": "statutes"}, "files": {"file": ("s.pdf", content, PDF)}})
        answers = at_once(world.as_("projects", HOLDER), [call, call])
        assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
        made = [a.json() for a in answers]
        assert made[0]["id"] != made[1]["id"]
        assert blobs(world) == {hashlib.sha256(content).hexdigest()}
        assert counts(world) == (2, 2, 0)
        assert staged_leftovers(world) == []
        for document in made:
            download = world.as_("projects", HOLDER).get(content_url(document["id"], document["current_version"]["id"]))
            assert download.content == content

    def test_two_uploads_at_once_under_one_idempotency_key_make_one_document(self, world: World) -> None:
        content = samples.pdf(salt())
        call = ("POST", DOCUMENTS, {"data": {"kind": "statutes"}, "files": {"file": ("s.pdf", content, PDF)},
                                    "headers": {"Idempotency-Key": f"upload-{salt()}"}})
        answers = at_once(world.as_("projects", HOLDER), [call, call])
        statuses = sorted(a.status_code for a in answers)
        assert statuses in ([201, 201], [201, 409]), [a.text for a in answers]
        if statuses == [201, 201]:
            assert answers[0].json() == answers[1].json()
        assert counts(world) == (1, 1, 0)
        assert len(blobs(world)) == 1

    def test_a_retry_with_the_same_key_replays_and_another_file_is_422(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        key = {"Idempotency-Key": f"upload-{salt()}"}
        content = samples.pdf(salt())
        first = upload(api, content, headers=key)
        again = upload(api, content, headers=key)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        assert again.headers["etag"] == first.headers["etag"] and again.headers["location"] == first.headers["location"]
        other = upload(api, samples.pdf(salt()), headers=key)
        assert problem(other)["code"] == "idempotency_key_reused"
        assert counts(world) == (1, 1, 0)


class TestRead:
    def test_a_document_with_its_versions_newest_first(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        document, etag = created(api, label="Statuts")
        second = new_version(api, document["id"], samples.pdf(salt()), etag, valid_until="2031-01-01")
        assert second.status_code == 200, second.text
        read = api.get(f"{DOCUMENTS}/{document['id']}")
        assert read.status_code == 200
        assert read.headers["etag"] == second.headers["etag"] == '"2"'
        body = read.json()
        assert [v["number"] for v in body["versions"]] == [2, 1]
        assert body["current_version"] == body["versions"][0]
        assert body["current_version"]["valid_until"] == "2031-01-01"
        assert body == second.json()

    def test_the_download_is_the_bytes_with_their_sha256(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        content = samples.csv(salt())
        document, _ = created(api, content, filename="comptes.csv", content_type="text/csv", kind="other")
        version = document["current_version"]
        download = api.get(content_url(document["id"], version["id"]))
        assert download.status_code == 200
        assert download.content == content
        assert download.headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
        assert download.headers["content-type"].startswith(CSV)
        assert download.headers["content-length"] == str(len(content))
        assert download.headers["x-content-type-options"] == "nosniff"
        assert download.headers["content-disposition"].startswith("attachment;")

    def test_the_list_filters_and_pages(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        statutes, _ = created(api)
        accounts_2024, _ = created(api, kind="approved_accounts", year=2024)
        accounts_2025, _ = created(api, kind="approved_accounts", year=2025)
        created(world.as_("projects", OTHER_HOLDER))
        assert calls.listed_ids(api, DOCUMENTS, limit=1) == [statutes["id"], accounts_2024["id"], accounts_2025["id"]]
        kinds = calls.listed_ids(api, DOCUMENTS, kind="approved_accounts")
        assert kinds == [accounts_2024["id"], accounts_2025["id"]]
        assert calls.listed_ids(api, DOCUMENTS, year=2025) == [accounts_2025["id"]]
        item = api.get(DOCUMENTS, params={"year": 2025}).json()["items"][0]
        assert item["current_version"] == accounts_2025["current_version"] and "versions" not in item
        later = api.get(f"{DOCUMENTS}/{statutes['id']}").json()["updated_at"]
        assert api.get(DOCUMENTS, params={"updated_since": "2100-01-01T00:00:00Z"}).json()["items"] == []
        assert statutes["id"] in calls.listed_ids(api, DOCUMENTS, updated_since=later.replace("+00:00", "Z"))
        for bad in ({"kind": "passport"}, {"year": "1999"}, {"updated_since": "hier"}, {"cursor": "forged"}):
            assert problem(api.get(DOCUMENTS, params=bad))["status"] in (400, 422)

    def test_an_association_lists_only_its_own(self, world: World) -> None:
        mine, _ = created(world.as_("projects", HOLDER))
        theirs, _ = created(world.as_("projects", OTHER_HOLDER))
        assert calls.listed_ids(world.as_("projects", HOLDER), DOCUMENTS) == [mine["id"]]
        foreign = world.as_("projects", HOLDER).get(DOCUMENTS, params={"organisation_id": theirs["organisation_id"]})
        assert foreign.status_code == 200 and foreign.json()["items"] == []

    def test_the_desk_and_the_services_read_any_organisation(self, world: World) -> None:
        theirs, _ = created(world.as_("projects", OTHER_HOLDER))
        created(world.as_("projects", HOLDER))
        for api in (world.as_("projects", DESK), world.as_service("projects", "projects:read")):
            listed = calls.listed_ids(api, DOCUMENTS, organisation_id=theirs["organisation_id"])
            assert listed == [theirs["id"]]
            assert api.get(f"{DOCUMENTS}/{theirs['id']}").status_code == 200
            version = theirs["current_version"]["id"]
            assert api.get(content_url(theirs["id"], version)).status_code == 200
        assert len(calls.listed_ids(world.as_("projects", DESK), DOCUMENTS)) == 2

    def test_another_organisation_gets_404_everywhere_and_nothing_changes(self, world: World) -> None:
        owner = world.as_("projects", HOLDER)
        document, etag = created(owner)
        version = document["current_version"]["id"]
        stranger = world.as_("projects", OTHER_HOLDER)
        before = blobs(world), counts(world)
        answers = [
            stranger.get(f"{DOCUMENTS}/{document['id']}"),
            stranger.get(content_url(document["id"], version)),
            new_version(stranger, document["id"], samples.pdf(salt()), etag),
            stranger.delete(version_url(document["id"], version), headers={"If-Match": etag}),
        ]
        for answer in answers:
            body = problem(answer)
            assert body["status"] == 404, answer.text
            assert document["id"] not in answer.text.replace(body["instance"], "")
        assert_nothing_written(world, *before)
        assert owner.get(f"{DOCUMENTS}/{document['id']}").headers["etag"] == etag

    def test_unknown_ids_are_404(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        document, etag = created(api)
        other, _ = created(api)
        unknown = str(uuid.uuid4())
        assert problem(api.get(f"{DOCUMENTS}/{unknown}"))["status"] == 404
        assert problem(api.get(content_url(document["id"], unknown)))["status"] == 404
        # A version of another document is not this document's.
        assert problem(api.get(content_url(document["id"], other["current_version"]["id"])))["status"] == 404
        assert problem(api.get(f"{DOCUMENTS}/not-a-uuid"))["status"] == 404

    def test_a_document_whose_last_version_went_meanwhile_is_not_there(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        kept, _ = created(api)
        orphan = orphan_document(world)
        response = api.get(DOCUMENTS)
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["items"]] == [kept["id"]]
        assert problem(api.get(f"{DOCUMENTS}/{orphan}"))["status"] == 404

    @pytest.mark.parametrize("email", [CITIZEN, CITY_INSTRUCTOR])
    def test_other_roles_are_403(self, world: World, email: str) -> None:
        document, _ = created(world.as_("projects", HOLDER))
        api = world.as_("projects", email)
        for url in (DOCUMENTS, f"{DOCUMENTS}/{document['id']}",
                    content_url(document["id"], document["current_version"]["id"])):
            assert problem(api.get(url))["status"] == 403

    def test_a_holder_token_without_an_organisation_uploads_nothing(self, world: World) -> None:
        # Identity signs none such; one would have reached the INSERT with no organisation (a 500 on NOT NULL).
        keys = KeyStore.from_pem(world.stack.signing_key_file.read_bytes())
        api = world.stack.api("projects")
        api.token = keys.sign(claims_for(organisation_id=None, roles=["holder_admin"], org_kind=None))
        response = upload(api)
        assert response.status_code == 403 and problem(response)["code"] == "forbidden"


class TestVersions:
    def test_a_new_version_keeps_the_old_ones(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        first_bytes, second_bytes = samples.pdf(salt()), samples.docx(salt())
        document, etag = created(api, first_bytes)
        response = new_version(api, document["id"], second_bytes, etag, filename="statuts.docx",
                               content_type=samples.DOCX)
        assert response.status_code == 200, response.text
        body = response.json()
        assert response.headers["etag"] == '"2"' and body["version"] == 2
        newest, oldest = body["versions"]
        assert (newest["number"], newest["content_type"]) == (2, samples.DOCX)
        assert oldest == document["current_version"]
        assert api.get(content_url(document["id"], oldest["id"])).content == first_bytes
        assert api.get(content_url(document["id"], newest["id"])).content == second_bytes
        assert blobs(world) == {hashlib.sha256(first_bytes).hexdigest(), hashlib.sha256(second_bytes).hexdigest()}

    def test_without_if_match_428_and_stale_412(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        document, etag = created(api)
        new_version(api, document["id"], samples.pdf(salt()), etag)
        before = blobs(world), counts(world)
        assert problem(new_version(api, document["id"], samples.pdf(salt()), None))["status"] == 428
        assert problem(new_version(api, document["id"], samples.pdf(salt()), etag))["status"] == 412
        assert_nothing_written(world, *before)

    def test_a_refused_content_adds_nothing(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        document, etag = created(api)
        before = blobs(world), counts(world)
        response = new_version(api, document["id"], b"<html></html>", etag, filename="v2.pdf")
        assert problem(response)["code"] == "unsupported_document_type"
        assert_nothing_written(world, *before)
        assert api.get(f"{DOCUMENTS}/{document['id']}").headers["etag"] == etag

    def test_the_file_is_stored_before_the_document_is_locked(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        api = world.as_("projects", HOLDER)
        document, etag = created(api)
        log: list[str] = []
        store = storage(world)
        stage = store.stage

        async def staging(*args: Any, **kwargs: Any) -> Any:
            log.append("stage")
            return await stage(*args, **kwargs)

        monkeypatch.setattr(store, "stage", staging)
        with recorded(log):
            response = new_version(api, document["id"], samples.pdf(salt()), etag)
        assert response.status_code == 200, response.text
        assert log.index("stage") < first(log, "FROM documents", "FOR UPDATE")
        assert staged_leftovers(world) == []

    def test_only_the_association_adds_versions(self, world: World) -> None:
        document, etag = created(world.as_("projects", HOLDER))
        for api in (world.as_("projects", DESK), world.as_("projects", CITIZEN)):
            assert problem(new_version(api, document["id"], samples.pdf(), etag))["status"] == 403


class TestDelete:
    def test_an_unpinned_version_goes_and_its_blob_with_it(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        first_bytes, second_bytes = samples.pdf(salt()), samples.pdf(salt())
        document, etag = created(api, first_bytes)
        etag = new_version(api, document["id"], second_bytes, etag).headers["etag"]
        response = api.delete(version_url(document["id"], document["current_version"]["id"]),
                              headers={"If-Match": etag})
        assert response.status_code == 204, response.text
        assert response.headers["etag"] == '"3"'
        read = api.get(f"{DOCUMENTS}/{document['id']}").json()
        assert [v["number"] for v in read["versions"]] == [2]
        assert blobs(world) == {hashlib.sha256(second_bytes).hexdigest()}
        assert problem(api.get(content_url(document["id"], document["current_version"]["id"])))["status"] == 404

    def test_a_blob_stays_while_another_version_references_it(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        content = samples.pdf(salt())
        first, first_etag = created(api, content)
        second, second_etag = created(api, content, kind="other")
        sha256 = hashlib.sha256(content).hexdigest()
        gone = api.delete(version_url(first["id"], first["current_version"]["id"]), headers={"If-Match": first_etag})
        assert gone.status_code == 204 and "etag" not in gone.headers
        assert blobs(world) == {sha256}
        assert api.get(content_url(second["id"], second["current_version"]["id"])).content == content
        assert api.delete(version_url(second["id"], second["current_version"]["id"]),
                          headers={"If-Match": second_etag}).status_code == 204
        assert blobs(world) == set()

    def test_the_last_version_takes_the_document(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        document, etag = created(api)
        assert api.delete(version_url(document["id"], document["current_version"]["id"]),
                          headers={"If-Match": etag}).status_code == 204
        assert problem(api.get(f"{DOCUMENTS}/{document['id']}"))["status"] == 404
        assert counts(world) == (0, 0, 0) and blobs(world) == set()

    def test_without_if_match_428_stale_412_unknown_404(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        document, etag = created(api)
        version = document["current_version"]["id"]
        new_version(api, document["id"], samples.pdf(salt()), etag)
        before = blobs(world), counts(world)
        assert problem(api.delete(version_url(document["id"], version)))["status"] == 428
        assert problem(api.delete(version_url(document["id"], version), headers={"If-Match": etag}))["status"] == 412
        unknown = api.delete(version_url(document["id"], str(uuid.uuid4())), headers={"If-Match": '"2"'})
        assert problem(unknown)["status"] == 404
        assert_nothing_written(world, *before)

    def test_a_pinned_version_is_409_naming_the_dossier(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        document, _ = created(api)
        version = document["current_version"]["id"]
        dossier = str(uuid.uuid4())
        pinned = world.as_service("projects").post(
            PINS, json={"organisation_id": org_id("blosne-avenir"), "dossier_id": dossier, "version_ids": [version]}
        )
        assert pinned.status_code == 200, pinned.text
        etag = api.get(f"{DOCUMENTS}/{document['id']}").headers["etag"]
        before = blobs(world), counts(world)
        response = api.delete(version_url(document["id"], version), headers={"If-Match": etag})
        body = problem(response)
        assert response.status_code == 409
        assert (body["code"], body["dossier_ids"]) == ("document_version_pinned", [dossier])
        assert dossier in body["detail"]
        assert_nothing_written(world, *before)

    def test_a_pin_landing_after_the_check_is_409_naming_the_dossier(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        api = world.as_("projects", HOLDER)
        document, _ = created(api)
        version = document["current_version"]["id"]
        dossier = str(uuid.uuid4())
        assert pin(world, [version], dossier=dossier).status_code == 200
        etag = api.get(f"{DOCUMENTS}/{document['id']}").headers["etag"]
        pins_of = repository.pins_of
        asked: list[Any] = []

        async def late(session: Any, version_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
            asked.append(version_ids)
            found = await pins_of(session, version_ids)
            return {v: [] for v in found} if len(asked) == 1 else found  # the pin lands after the first look

        monkeypatch.setattr(repository, "pins_of", late)
        before = blobs(world), counts(world)
        response = api.delete(version_url(document["id"], version), headers={"If-Match": etag})
        body = problem(response)
        assert response.status_code == 409, response.text
        assert (body["code"], body["dossier_ids"]) == ("document_version_pinned", [dossier])
        assert len(asked) == 2
        monkeypatch.undo()
        assert_nothing_written(world, *before)

    def test_the_document_then_the_version_are_locked_before_the_checks(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        document, etag = created(api)
        etag = new_version(api, document["id"], samples.pdf(salt()), etag).headers["etag"]
        log: list[str] = []
        with recorded(log):
            response = api.delete(version_url(document["id"], document["current_version"]["id"]),
                                  headers={"If-Match": etag})
        assert response.status_code == 204, response.text
        document_lock = first(log, "FROM documents", "FOR UPDATE")
        version_lock = first(log, "FROM document_versions", "FOR UPDATE")
        assert document_lock < version_lock < first(log, "FROM document_pins") < first(log, "report_evidence")

    @pytest.mark.parametrize("state", ["draft", "changes_requested", "submitted", "accepted"])
    def test_a_version_cited_by_a_report_is_409_naming_it(self, world: World, state: str) -> None:
        api = world.as_("projects", HOLDER)
        document, etag = created(api)
        cited = document["current_version"]["id"]
        etag = new_version(api, document["id"], samples.pdf(salt()), etag).headers["etag"]
        report = reported(world, [cited], state)
        before = blobs(world), counts(world)
        response = api.delete(version_url(document["id"], cited), headers={"If-Match": etag})
        body = problem(response)
        assert response.status_code == 409, response.text
        assert (body["code"], body["report_ids"]) == ("document_version_in_report", [report["id"]])
        assert report["id"] in body["detail"]
        assert_nothing_written(world, *before)
        assert api.get(f"{DOCUMENTS}/{document['id']}").headers["etag"] == etag
        # Another version of the document, cited by no report, goes.
        current = api.get(f"{DOCUMENTS}/{document['id']}").json()["current_version"]["id"]
        assert api.delete(version_url(document["id"], current), headers={"If-Match": etag}).status_code == 204

    def test_evidence_key_locks_the_versions_it_names(self, world: World) -> None:
        document, _ = created(world.as_("projects", HOLDER))
        log: list[str] = []
        with recorded(log):
            reported(world, [document["current_version"]["id"]], "draft")
        assert "FOR KEY SHARE OF document_versions" in log[first(log, "FROM document_versions", "FOR KEY SHARE")]

    def test_only_the_association_deletes(self, world: World) -> None:
        document, etag = created(world.as_("projects", HOLDER))
        url = version_url(document["id"], document["current_version"]["id"])
        for api in (world.as_("projects", DESK), world.as_("projects", CITIZEN)):
            assert problem(api.delete(url, headers={"If-Match": etag}))["status"] == 403
        assert counts(world) == (1, 1, 0)


def reported(world: World, evidence: list[str], state: str) -> dict[str, Any]:
    """A report of the holder's citing these versions as evidence, brought to `state`."""
    report = report_tests.created(world, report_tests.planned_project(world), evidence_version_ids=evidence)
    moves: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
        "draft": [], "submitted": [("submit", HOLDER, {})], "accepted": [("submit", HOLDER, {}), ("accept", DESK, {})],
        "changes_requested": [
            ("submit", HOLDER, {}), ("request-changes", DESK, {"json": {"comment": "Joindre l'émargement."}})
        ],
    }
    for action, email, kwargs in moves[state]:
        response = report_tests.act(world, report, action, email, **kwargs)
        assert response.status_code == 200, response.text
        report = response.json()
    assert (report["state"], report["evidence_version_ids"]) == (state, sorted(evidence))
    return report


def pin(world: World, version_ids: list[str], *, organisation: str = "blosne-avenir",
        dossier: str | None = None, api: Api | None = None) -> httpx.Response:
    return (api or world.as_service("projects")).post(
        PINS,
        json={"organisation_id": org_id(organisation), "dossier_id": dossier or str(uuid.uuid4()),
              "version_ids": version_ids},
    )


class TestPins:
    def test_funding_pins_the_versions_of_a_submitted_dossier(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        statutes, etag = created(api)
        accounts, _ = created(api, kind="approved_accounts", year=2025, valid_until="2030-12-31")
        versions = [statutes["current_version"]["id"], accounts["current_version"]["id"]]
        dossier = str(uuid.uuid4())
        response = pin(world, versions, dossier=dossier)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["dossier_id"] == dossier
        assert [v["id"] for v in body["versions"]] == versions
        second = body["versions"][1]
        assert (second["document_id"], second["kind"], second["year"]) == (accounts["id"], "approved_accounts", 2025)
        assert second["sha256"] == accounts["current_version"]["sha256"] and second["valid_until"] == "2030-12-31"
        read = api.get(f"{DOCUMENTS}/{statutes['id']}")
        assert read.json()["current_version"]["pinned_by_dossiers"] == [dossier]
        assert read.headers["etag"] != etag  # the representation changed
        again = pin(world, versions, dossier=dossier)
        assert again.status_code == 200 and again.json() == body
        assert api.get(f"{DOCUMENTS}/{statutes['id']}").headers["etag"] == read.headers["etag"]
        assert counts(world)[2] == 2

    def test_the_documents_are_locked_in_order_before_the_pins_are_written(self, world: World) -> None:
        api = world.as_("projects", HOLDER)
        versions = [created(api)[0]["current_version"]["id"] for _ in range(2)]
        log: list[str] = []
        with recorded(log):
            assert pin(world, versions).status_code == 200
        lock = first(log, "FROM documents", "ORDER BY documents.id FOR UPDATE")
        assert lock < first(log, "INSERT INTO document_pins") < first(log, "UPDATE documents")

    def test_an_unknown_or_foreign_version_pins_nothing(self, world: World) -> None:
        mine, _ = created(world.as_("projects", HOLDER))
        theirs, _ = created(world.as_("projects", OTHER_HOLDER))
        unknown = str(uuid.uuid4())
        foreign = theirs["current_version"]["id"]
        response = pin(world, [mine["current_version"]["id"], foreign, unknown])
        body = problem(response)
        assert response.status_code == 422
        assert body["code"] == "unknown_document_version"
        assert body["unknown_version_ids"] == sorted([foreign, unknown])
        assert [e["field"] for e in body["errors"]] == ["body.version_ids.1", "body.version_ids.2"]
        assert counts(world)[2] == 0

    @pytest.mark.parametrize(
        "body",
        [
            {"organisation_id": "x", "dossier_id": str(uuid.uuid4()), "version_ids": [str(uuid.uuid4())]},
            {"organisation_id": str(uuid.uuid4()), "dossier_id": str(uuid.uuid4()), "version_ids": []},
            {"organisation_id": str(uuid.uuid4()), "dossier_id": str(uuid.uuid4())},
            {"organisation_id": str(uuid.uuid4()), "dossier_id": str(uuid.uuid4()), "version_ids": ["x"]},
        ],
    )
    def test_bad_bodies_are_422(self, world: World, body: dict[str, Any]) -> None:
        assert problem(world.as_service("projects").post(PINS, json=body))["status"] == 422

    @pytest.mark.parametrize("email", [HOLDER, DESK, CITY_INSTRUCTOR])
    def test_people_cannot_pin(self, world: World, email: str) -> None:
        document, _ = created(world.as_("projects", HOLDER))
        response = pin(world, [document["current_version"]["id"]], api=world.as_("projects", email))
        assert problem(response)["status"] == 403
        assert counts(world)[2] == 0

    def test_a_service_token_without_the_scope_cannot_pin(self, world: World) -> None:
        document, _ = created(world.as_("projects", HOLDER))
        response = pin(world, [document["current_version"]["id"]], api=world.as_service("projects", "projects:read"))
        assert problem(response)["status"] == 403

    def test_owned_versions_is_the_subset_of_the_organisation(self, world: World) -> None:
        mine, _ = created(world.as_("projects", HOLDER))
        theirs, _ = created(world.as_("projects", OTHER_HOLDER))
        asked = [uuid.UUID(mine["current_version"]["id"]), uuid.UUID(theirs["current_version"]["id"]), uuid.uuid4()]

        async def run() -> set[uuid.UUID]:
            async with world.stack.apps["projects"].state.db.reader() as session:
                return await pins.owned_versions(
                    session, organisation_id=uuid.UUID(org_id("blosne-avenir")), version_ids=asked
                )

        assert world.stack.run(run) == {asked[0]}


def compliance(api: Api, kinds: list[str], on: date | None = None, organisation: str = "blosne-avenir"):
    params: dict[str, Any] = {"organisation_id": org_id(organisation), "kinds": kinds}
    if on is not None:
        params["on"] = on.isoformat()
    return api.get(COMPLIANCE, params=params)


class TestCompliance:
    def test_valid_expired_missing_and_per_year(self, world: World) -> None:
        holder = world.as_("projects", HOLDER)
        on = date(2027, 3, 15)
        statutes, _ = created(holder)
        insurance, _ = created(holder, kind="insurance_certificate", valid_until="2027-03-14")
        rib, _ = created(holder, kind="bank_details", valid_until="2027-03-15")  # valid through that very day
        created(holder, kind="approved_accounts", year=2025)  # two years before: too old
        report, _ = created(holder, kind="activity_report", year=2026)  # the year before: fine
        created(world.as_("projects", OTHER_HOLDER), kind="board_members")  # another organisation's
        kinds = ["statutes", "insurance_certificate", "bank_details", "approved_accounts", "activity_report",
                 "board_members"]
        response = compliance(world.as_service("projects", "projects:read"), kinds, on)
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["organisation_id"], body["on"]) == (org_id("blosne-avenir"), "2027-03-15")
        items = {item["kind"]: item for item in body["items"]}
        assert [item["kind"] for item in body["items"]] == kinds
        assert items["statutes"] == {
            "kind": "statutes", "satisfied": True, "document_id": statutes["id"],
            "version_id": statutes["current_version"]["id"], "year": None, "valid_until": None, "reason": None,
        }
        assert (items["insurance_certificate"]["satisfied"], items["insurance_certificate"]["reason"]) == (
            False, "expired")
        assert items["insurance_certificate"]["document_id"] == insurance["id"]
        assert items["bank_details"]["satisfied"] and items["bank_details"]["document_id"] == rib["id"]
        assert (items["approved_accounts"]["satisfied"], items["approved_accounts"]["reason"]) == (
            False, "outdated_year")
        assert items["activity_report"]["satisfied"] and items["activity_report"]["version_id"] == (
            report["current_version"]["id"])
        assert items["board_members"] == {
            "kind": "board_members", "satisfied": False, "document_id": None, "version_id": None, "year": None,
            "valid_until": None, "reason": "missing",
        }

    def test_the_latest_version_decides(self, world: World) -> None:
        holder = world.as_("projects", HOLDER)
        on = date(2027, 3, 15)
        insurance, etag = created(holder, kind="insurance_certificate", valid_until="2027-01-01")
        desk = world.as_("projects", DESK)
        assert compliance(desk, ["insurance_certificate"], on).json()["items"][0]["reason"] == "expired"
        renewed = new_version(holder, insurance["id"], samples.pdf(salt()), etag, valid_until="2028-01-01")
        item = compliance(desk, ["insurance_certificate"], on).json()["items"][0]
        assert item["satisfied"] and item["version_id"] == renewed.json()["current_version"]["id"]
        lapsed = new_version(holder, insurance["id"], samples.pdf(salt()), renewed.headers["etag"],
                             valid_until="2027-02-01")
        assert lapsed.status_code == 200
        assert compliance(desk, ["insurance_certificate"], on).json()["items"][0]["reason"] == "expired"

    def test_today_by_default(self, world: World) -> None:
        before = TODAY
        created(world.as_("projects", HOLDER), kind="insurance_certificate",
                valid_until=(before + timedelta(days=2)).isoformat())
        body = compliance(world.as_("projects", DESK), ["insurance_certificate"]).json()
        # today as the server sees it: the day the test began, or the next one if it crossed midnight
        assert body["on"] in {before.isoformat(), TODAY.isoformat()} and body["items"][0]["satisfied"]

    @pytest.mark.parametrize(
        "params",
        [
            {"kinds": ["statutes"]},
            {"organisation_id": "x", "kinds": ["statutes"]},
            {"organisation_id": str(uuid.uuid4())},
            {"organisation_id": str(uuid.uuid4()), "kinds": ["passport"]},
            {"organisation_id": str(uuid.uuid4()), "kinds": ["statutes"], "on": "15/03/2027"},
            {"organisation_id": str(uuid.uuid4()), "kinds": ["statutes"], "on": "0"},
        ],
    )
    def test_bad_queries_are_422(self, world: World, params: dict[str, Any]) -> None:
        assert problem(world.as_("projects", DESK).get(COMPLIANCE, params=params))["status"] == 422

    @pytest.mark.parametrize("email", [HOLDER, CITIZEN, CITY_INSTRUCTOR])
    def test_only_the_desk_and_services_ask(self, world: World, email: str) -> None:
        assert problem(compliance(world.as_("projects", email), ["statutes"]))["status"] == 403
