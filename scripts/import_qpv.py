"""Imports the ANCT's list of QPVs (CSV) into the projects database.

`python -m scripts.import_qpv <csv> [--dry-run] [--accept-rejections] [--lang en]`.

The database is the projects service's (PROJECTS_DATABASE_URL, as for `scripts.migrate`). Prints what was added,
changed, unchanged, retired (stored but no longer listed) and rejected (with line numbers and reasons). Exit code
0 when the file was imported; 1 when it could not be read or lacks the expected columns; 2 when a row was rejected:
nothing is written then, unless `--accept-rejections` imports the other rows (exit 0).
"""

import argparse
import asyncio
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from services.projects.referential.qpv_import import QpvFileError, import_file
from services.projects.settings import ProjectsSettings


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.import_qpv", description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path, help="the ANCT's CSV of QPVs (UTF-8, `;` or `,`)")
    parser.add_argument("--dry-run", action="store_true", help="report what would change, write nothing")
    parser.add_argument(
        "--accept-rejections", action="store_true",
        help="import the valid rows even when others are rejected (exit 0); without it nothing is written then",
    )
    parser.add_argument("--lang", choices=("fr", "en"), default="fr", help="language of the report")
    args = parser.parse_args(argv)
    settings = ProjectsSettings()
    try:
        report = asyncio.run(import_file(
            settings.database_url, settings.db_schema, args.csv, dry_run=args.dry_run,
            accept_rejections=args.accept_rejections,
        ))
    except QpvFileError as exc:
        print(f"{args.csv}: {exc.message.pick(args.lang)}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:  # typically a database not migrated yet
        print(f"projects database: {exc.__class__.__name__}: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        print("(python -m scripts.migrate first?)", file=sys.stderr)
        return 1
    print(f"QPV: {args.csv}")
    for line in report.lines(args.lang):
        print(f"  {line}")
    return 2 if report.rejected and not args.accept_rejections else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
