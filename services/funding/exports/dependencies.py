"""The exports' dependencies: the database a streamed export reads on, in a session of its own."""

from typing import Annotated

from fastapi import Depends, Request

from common.db import Database


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


DatabaseDep = Annotated[Database, Depends(_database)]
