"""PostgreSQL drops the desk's connections (a failover, `pg_terminate_backend`) while clients read and write: a
read is answered (run once more on a fresh connection), a write is 2xx or 503 with Retry-After and then succeeds
on its retry with the same key; never a 500."""

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from common.db import sync_url
from tests.faults.desk import APPLICATION_NAME, FaultDesk
from tests.faults.filings import Filer
from tests.faults.test_paused_peer import programme
from tests.support.world import DESK, HOLDER


def terminate_the_desks_connections(url: str) -> int:
    engine = create_engine(sync_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            return len(connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"
            ), {"name": APPLICATION_NAME}).all())
    finally:
        engine.dispose()


@pytest.mark.postgres_only
def test_terminated_connections_are_a_retried_read_or_a_503_never_a_500(healthy: FaultDesk) -> None:
    filer = Filer(healthy)
    drafts = filer.drafts(2)
    stop = threading.Event()
    reads: Counter[int] = Counter()
    writes: Counter[int | str] = Counter()
    refused: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            answer = filer.call(HOLDER, "GET", f"/api/v1/dossiers/{drafts[0].id}")
            reads[answer.status_code] += 1

    def writer() -> None:
        while not stop.is_set():
            key = str(uuid.uuid4())
            answer = filer.call(DESK, "POST", "/api/v1/programmes", json=programme(), headers={"Idempotency-Key": key})
            writes[answer.status_code] += 1
            if answer.status_code == 503:
                if "retry-after" not in answer.headers:
                    refused.append(answer.text)
                retried = filer.call(DESK, "POST", "/api/v1/programmes", json=programme(),
                                     headers={"Idempotency-Key": key})
                writes[f"retried {retried.status_code}"] += 1

    terminated = 0
    with ThreadPoolExecutor(4) as pool:
        running = [pool.submit(reader), pool.submit(reader), pool.submit(writer), pool.submit(writer)]
        for _ in range(5):
            time.sleep(0.4)
            terminated += terminate_the_desks_connections(healthy.database_url("funding"))
        stop.set()
        for job in running:
            job.result()
    assert terminated > 0
    assert set(reads) == {200}, reads
    assert set(writes) <= {201, 503, "retried 201"}, writes
    assert refused == []
    print(f"\nfaults: {terminated} connections terminated under load; reads {dict(reads)}; writes {dict(writes)}")
