"""Fills PostgreSQL with a realistic country for the scale benchmarks: `python -m scripts.seed_country`.

    python -m scripts.seed_country [--dossiers 1000000] [--territories 100] [--funders 2000]
        [--associations 50000] [--years 5] [--last-year 2026] [--random-seed 1] [--replace]

Writes into the three services' schemas as their settings say (IDENTITY_DATABASE_URL / IDENTITY_DB_SCHEMA, and
the same for PROJECTS_ and FUNDING_), on top of `python -m scripts.migrate` and `python -m scripts.seed_demo`:
the demo territory becomes territory 1 of the country. Rows go in by binary COPY inside one transaction per service,
so a failed run leaves nothing behind. The same arguments and seed give the same country (its dates but the
current year's follow today).

Left out of the seeded history: the event outbox (domain events and webhook deliveries: the feed starts after the
seed), the holders' notifications, documents in the vault, and projects' indicator targets and activity reports.
"""

import argparse
import gc
import random
import sys
import time
from datetime import UTC, datetime

from psycopg.errors import DeadlockDetected

from common.clock import clock_of
from common.db import is_sqlite
from scripts import demo_data
from scripts.country import (
    bulk,
    calendar,
    committee,
    dossier_rows,
    dossiers,
    followup,
    money,
    previous,
    projects,
    territories,
)
from scripts.country.bulk import Batch, Loader
from scripts.country.calendar import Calendar, Frame
from scripts.country.clock import instant
from scripts.country.draws import apportion
from scripts.country.ids import Registry, id_of
from scripts.country.territories import Builder, Territory, person
from services.funding.dossiers.service import format_reference
from services.funding.settings import FundingSettings
from services.identity.settings import IdentitySettings
from services.projects.settings import ProjectsSettings

REFUSED = 2
# Tries of the whole seeding when PostgreSQL breaks a deadlock with a running desk by aborting it.
ATTEMPTS = 3
# Every table the seed writes, parents before children (the order of the COPYs).
TABLES = (
    territories.ORGANISATIONS, territories.PROFILES, territories.QPVS, territories.QPV_COMMUNES, projects.PROJECTS,
    projects.PROJECT_QPVS, projects.PROJECT_PRIORITIES, territories.BUDGETS, territories.BUDGET_LINES,
    calendar.PROGRAMMES, calendar.PROGRAMME_FUNDERS, committee.SESSIONS, committee.SESSION_PROGRAMMES,
    committee.SESSION_FUNDERS, dossier_rows.DOSSIERS, dossier_rows.FUNDING_LINES, dossier_rows.TAGS,
    dossier_rows.HISTORY, dossier_rows.ROUTINGS, dossier_rows.OPINIONS, committee.ITEMS, committee.DECISIONS,
    committee.SCORES, money.GRANTS, money.GRANT_YEARS, money.AGREEMENTS, money.OPEN_DATA, money.PAYMENTS, money.REPORTS,
    followup.LEARNING_REVIEWS, followup.CPO_VERSIONS, followup.CPO_REVIEWS, money.ENVELOPES, money.MOVEMENTS,
)
# The big tables, filled with their indexes and foreign keys set aside (see bulk.py).
BIG_TABLES = {
    "projects": ("projects", "project_qpv", "project_priorities", "budgets", "budget_lines"),
    "funding": ("dossiers", "funding_lines", "dossier_tags", "dossier_history", "dossier_routings",
                "dossier_opinions", "committee_agenda_items", "committee_decisions", "committee_scores", "grants",
                "grant_years",
                "agreements", "open_data_rows", "payments", "financial_reports", "envelope_movements", "cpo_versions",
                "cpo_reviews", "learning_reviews"),
}


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m scripts.seed_country", description=__doc__.split("\n")[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--territories", type=int, default=100)
    parser.add_argument("--funders", type=int, default=2_000)
    parser.add_argument("--associations", type=int, default=50_000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--last-year", type=int, default=desk_now().year)
    parser.add_argument("--random-seed", type=int, default=1)
    parser.add_argument("--replace", action="store_true", help="delete the country an earlier run added, first")
    parser.add_argument("--keep-indexes", action="store_true",
                        help="fill the tables with their indexes in place (about twice slower: to measure it)")
    return parser.parse_args(argv)


def refusal(args: argparse.Namespace, urls: dict[str, tuple[str, str]]) -> str | None:
    if any(is_sqlite(url) for url, _ in urls.values()):
        return ("PostgreSQL only: set IDENTITY_DATABASE_URL, PROJECTS_DATABASE_URL and FUNDING_DATABASE_URL (and "
                "their _DB_SCHEMA) to a PostgreSQL database, as for `make run` on PostgreSQL (see the README).")
    if args.territories < 1 or args.years < 1 or min(args.dossiers, args.associations) < 0:
        return "--territories and --years are at least 1; counts are never negative."
    if args.funders < 4 * args.territories:
        return f"--funders: at least 4 per territory ({4 * args.territories} for {args.territories} territories)."
    if args.associations < args.territories:
        return "--associations: at least one per territory."
    if args.last_year > desk_now().year:
        return f"--last-year {args.last_year} is in the future: the seeded history stops today."
    return None


def desk_now() -> datetime:
    """The desk's now: funding's clock (a test's fixed time), the calendar's otherwise."""
    return clock_of(FundingSettings().clock_file).now()


class Phases:
    """Prints each phase with its rows and seconds as it ends."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()

    def done(self, name: str, rows: int | None = None, seconds: float | None = None) -> None:
        now = time.perf_counter()
        count = f"{rows:>12,} rows" if rows is not None else " " * 17
        print(f"  {name:<46}{count}  {now - self.last if seconds is None else seconds:8.1f} s", flush=True)
        self.last = now


def main(argv: list[str]) -> int:
    args = arguments(argv)
    settings = {"identity": IdentitySettings(), "projects": ProjectsSettings(), "funding": FundingSettings()}
    urls = {service: (s.database_url, s.db_schema) for service, s in settings.items()}
    problem = refusal(args, urls)
    if problem:
        print(f"seed_country: {problem}", file=sys.stderr)
        return REFUSED
    for attempt in range(1, ATTEMPTS + 1):
        loaders = {service: Loader(url, schema) for service, (url, schema) in urls.items()}
        try:
            return seed(args, loaders)
        except DeadlockDetected:
            # A running desk read two of the tables being set aside, in the other order: PostgreSQL chose the
            # seeding as the victim. Nothing of it was committed; its locks are gone with its connections.
            if attempt == ATTEMPTS:
                raise
            print("seed_country: a running desk's query crossed the seeding's locks (deadlock); nothing was "
                  "kept, seeding again.", file=sys.stderr, flush=True)
        finally:
            for loader in loaders.values():
                loader.close()
    return REFUSED  # not reached: the last attempt returns or raises


def seed(args: argparse.Namespace, loaders: dict[str, Loader]) -> int:
    if not loaders["identity"].execute("SELECT 1 FROM organisations WHERE id = %s",
                                       (demo_data.organisation("desk").id,)):
        print("seed_country: the demo territory is missing: run `python -m scripts.migrate` and "
              "`python -m scripts.seed_demo` first (same settings).", file=sys.stderr)
        return REFUSED
    earlier = previous.found(loaders)
    if any(earlier.values()) and not args.replace:
        print(f"seed_country: these schemas already hold a seeded country ({earlier['dossiers']:,} dossiers, "
              f"{earlier['organisations']:,} organisations); run with --replace to delete it and seed again.",
              file=sys.stderr)
        return REFUSED
    last = datetime(args.last_year, 12, 31, 18, tzinfo=UTC)
    frame = Frame(first_year=args.last_year - args.years + 1, last_year=args.last_year,
                  as_of=instant(min(desk_now(), last)))
    print(f"Seeding a country: {args.territories} territories, {args.funders:,} funders, {args.associations:,} "
          f"associations, {args.dossiers:,} dossiers over {frame.first_year}-{frame.last_year}.", flush=True)
    phases = Phases()
    aside = {} if args.keep_indexes else {s: loaders[s].set_aside(tables) for s, tables in BIG_TABLES.items()}
    if args.replace:
        previous.remove(loaders)
    phases.done(("indexes kept" if args.keep_indexes else "indexes set aside")
                + (", earlier country removed" if args.replace else ""))
    country = organisations(args, frame, loaders, phases)
    calendars, seeds = plan(args, frame, country, loaders, phases)
    lives(frame, country, calendars, seeds, loaders, phases)
    for service, set_aside in aside.items():
        for step, seconds in loaders[service].put_back(set_aside).items():
            phases.done(f"{service}: {step} rebuilt", seconds=seconds)
    for service in ("funding", "projects", "identity"):
        loaders[service].commit()
    phases.done("committed")
    written = sorted(((loader.url, loader.schema, table, count) for loader in loaders.values()
                      for table, count in loader.counts.items()), key=lambda target: -target[3])
    bulk.vacuum_analyze([(url, schema, table) for url, schema, table, _ in written])
    phases.done("vacuum analyze")
    print("Rows per table:")
    for _, schema, table, count in written:
        print(f"  {schema.rsplit('_', 1)[-1]}.{table:<40}{count:>12,}")
    print(f"Total: {sum(count for *_, count in written):,} rows in {time.perf_counter() - phases.started:.1f} s",
          flush=True)
    return 0


def organisations(args: argparse.Namespace, frame: Frame, loaders: dict[str, Loader],
                  phases: Phases) -> list[Territory]:
    """The territories with their QPVs, funders and associations (profiles and yearly budgets), written."""
    taken = loaders["identity"].execute("SELECT siret, rna FROM organisations")
    registry = Registry({siret for siret, _ in taken if siret}, {rna for _, rna in taken if rna})
    existing_qpvs = loaders["projects"].execute(
        "SELECT code, name, commune, insee_commune, epci_siren, retired_at IS NOT NULL FROM qpv ORDER BY code")
    demo_budgets = {(organisation.bytes, year) for organisation, year in loaders["projects"].execute(
        "SELECT organisation_id, year FROM budgets WHERE year IS NOT NULL AND organisation_id = ANY(%s)",
        ([o.id for o in demo_data.ORGANISATIONS],))}
    builder = Builder(frame, args.random_seed, registry, existing_qpvs)
    country = builder.territories(args.territories, args.funders, args.associations)
    batch, rng = Batch(TABLES), random.Random(f"{args.random_seed}:organisations")
    builder.qpv_rows(country, batch)
    builder.funder_rows(country, batch, rng)
    builder.association_rows(country, batch, rng, demo_budgets)
    phases.done("territories, QPVs, funders, associations", bulk.flush(batch, loaders))
    return country


def plan(args: argparse.Namespace, frame: Frame, country: list[Territory], loaders: dict[str, Loader],
         phases: Phases) -> tuple[list[Calendar | None], list[list[dossiers.Seed] | None]]:
    """Each territory's programmes and sessions, and its dossiers before their lives, numbered country-wide."""
    batch = Batch(TABLES)
    rngs = [random.Random(f"{args.random_seed}:dossiers:{t.index}") for t in country]
    built = [calendar.build(t, frame, rng, batch) for t, rng in zip(country, rngs, strict=True)]
    sizes = [random.Random(f"{args.random_seed}:size:{t.index}").uniform(0.6, 1.4) for t in country]
    seeds: list[list[dossiers.Seed] | None] = [
        dossiers.plan_territory(t, c, frame, count, rng)
        for t, c, count, rng in zip(country, built, apportion(args.dossiers, sizes), rngs, strict=True)]
    for year, last_value in number(seeds, loaders["funding"]).items():
        loaders["funding"].execute(
            "INSERT INTO reference_counters (year, last_value) VALUES (%s, %s) ON CONFLICT (year) "
            "DO UPDATE SET last_value = GREATEST(reference_counters.last_value, EXCLUDED.last_value)",
            (year, last_value))
    for territory, rng in zip(country, rngs, strict=True):
        territory.rng = rng  # the lives go on drawing from the generator that planned them
    phases.done("programmes, sessions; dossiers planned", bulk.flush(batch, loaders))
    calendars: list[Calendar | None] = [*built]  # lives() frees each once written
    return calendars, seeds


def number(seeds: list, funding: Loader) -> dict[int, int]:
    """Each year's references in the order the dossiers were created, after those the desk already gave; the
    counters to leave behind."""
    counters = dict(funding.execute("SELECT year, last_value FROM reference_counters"))
    by_year: dict[int, list[dossiers.Seed]] = {}
    for territory_seeds in seeds:
        for seed in territory_seeds:
            by_year.setdefault(seed.year, []).append(seed)
    for year, year_seeds in by_year.items():
        year_seeds.sort(key=lambda seed: seed.created)
        first = counters.get(year, 0)
        for offset, seed in enumerate(year_seeds, start=1):
            seed.number = first + offset
        counters[year] = first + len(year_seeds)
    return counters


def lives(frame: Frame, country: list[Territory], calendars: list, seeds: list, loaders: dict[str, Loader],
          phases: Phases) -> None:
    """Each territory's dossiers lived and written with their money, while the next territory's are drawn."""
    desk = (person("coordination@guichet-rennes.example"), id_of(demo_data.organisation("desk").id))
    writer, generated = bulk.Writer(loaders), 0
    # A million lives allocate objects that reference counting frees; the collector's passes over everything
    # alive would add a quarter to the time. Kept alive from here: the country; cycles are collected every tenth.
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        for index, territory in enumerate(country):
            cal, planned, rng = calendars[index], seeds[index], territory.rng
            assert rng is not None, "plan() gives each territory its generator"
            calendars[index] = seeds[index] = None  # freed once written
            batch = Batch(TABLES)
            lived_through = dossiers.Lives(territory, cal, frame, desk, rng)
            lived = [lived_through.dossier(seed, format_reference(seed.year, seed.number)) for seed in planned]
            money.Money(territory, cal, frame.as_of, desk, rng, batch).run(lived)
            committee.session_rows(territory, cal, lived, frame.as_of, desk[0], batch, rng)
            for dossier in lived:
                dossier_rows.emit(dossier, batch, rng, desk[0])
            generated += batch.size()
            writer.put(batch)
            del lived, lived_through, planned, cal
            position = index + 1
            if position % max(1, len(country) // 10) == 0 or position == len(country):
                gc.collect()
                if position == len(country):
                    writer.close()
                phases.done(f"territories 1-{position}: dossiers and their money", generated)
                generated = 0
    finally:
        gc.enable()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
