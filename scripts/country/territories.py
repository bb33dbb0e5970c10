"""The contrats de ville: for each, its EPCI and communes, its QPVs, its funders and its associations (identity's
organisations and profiles, projects' QPVs and the associations' yearly budgets).

Territory 1 is the demo's Rennes Métropole: the demo funders are its State, city, EPCI, département and CAF, the
demo associations are among its associations, and the demo QPVs among its QPVs.
"""

import csv
import json
import random
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from scripts import demo_data
from scripts.country import MARKER, MARKER_DOMAIN, places
from scripts.country.bulk import Batch, Table
from scripts.country.calendar import Frame
from scripts.country.clock import DAY, HOUR, day, day_of
from scripts.country.draws import apportion, draw
from scripts.country.ids import Registry, id_of, id_text, new_id
from scripts.country.snapshots import association_budget_lines, profile_snapshot

ORGANISATIONS = Table("identity", "organisations", (
    "id", "kind", "name", "siret", "rna", "funder_category", "qpv_codes", "address", "email", "version",
    "created_at", "updated_at"))
PROFILES = Table("identity", "organisation_profiles", (
    "organisation_id", "representative_name", "representative_function", "representative_email",
    "representative_phone", "contact_name", "contact_function", "contact_email", "contact_phone", "street_lines",
    "postcode", "city", "insee_code", "volunteers", "employees", "fte_hundredths", "members", "paying_members",
    "version", "created_at", "updated_at", "updated_by", "republican_contract_signed_on",
    "republican_contract_signatory"))
QPVS = Table("projects", "qpv", ("code", "name", "commune", "insee_commune", "epci", "epci_siren", "department"))
QPV_COMMUNES = Table("projects", "qpv_communes", ("qpv_code", "insee_code", "position", "name"))
# The 2024 national list (code, name, INSEE codes): the seeded QPVs are real ones, never invented codes.
NATIONAL_LIST = Path(__file__).resolve().parents[2] / "migrations" / "projects" / "data" / "qpv_2024_codes.csv"
BUDGETS = Table("projects", "budgets", ("id", "organisation_id", "project_id", "year", "version", "updated_by",
                                        "updated_at"))
BUDGET_LINES = Table("projects", "budget_lines", (
    "id", "budget_id", "side", "position", "account_group", "label", "amount_cents", "funder_id", "to_be_allocated"))

# Where each kind of body's SIREN starts (public bodies: 1 the State, 2 local authorities; 7-8 private bodies).
SIREN_PREFIX = {"state": "17", "city": "21", "epci": "24", "departement": "22", "region": "23", "caf": "77",
                "landlord": "27", "foundation": "78", "other": "18", "association": "88"}
# After the core funders, a territory's others in turn.
OTHER_FUNDERS = ("landlord", "foundation", "landlord", "other", "foundation", "landlord", "other")
# Associations by yearly budget: (share, lowest and highest charges in euros, employees).
SIZES = ((0.40, 5_000, 49_000, (0, 1)), (0.35, 50_000, 199_000, (1, 4)), (0.20, 200_000, 990_000, (4, 20)),
         (0.05, 1_000_000, 3_000_000, (20, 60)))
DEMO_ROLES = {  # the demo people who act for each demo funder: instructor, manager, committee member
    "prefecture": ("instruction@prefecture35.example", "direction@prefecture35.example", "comite@prefecture35.example"),
    "ville": ("instruction@ville-rennes.example", "direction@ville-rennes.example", "comite@ville-rennes.example"),
    "metropole": ("direction@rennes-metropole.example",) * 3,
    "departement": ("direction@departement35.example",) * 3,
    "caf": ("direction@caf35.example",) * 3,
}
DEMO_FUNDERS = ("prefecture", "ville", "metropole", "departement", "caf")


def person(email: str) -> str:
    return str(next(user.id for user in demo_data.USERS if user.email == email))


@dataclass(slots=True, eq=False)
class Funder:
    id: bytes
    text: str
    name: str
    category: str
    # Who acts for it: its instructor, its manager, its committee member (a seeded funder has no people: one
    # subject stands for them).
    subjects: tuple[str, str, str]


@dataclass(slots=True, eq=False)
class Association:
    id: bytes
    text: str
    name: str
    home: int  # its QPV, as an index into the territory's
    weight: float  # how many dossiers it files, relative to the others
    holder: str  # the subject that files its dossiers
    budget_lines: dict[int, tuple] = field(default_factory=dict)  # its yearly budget, by year
    budget_saved: dict[int, int] = field(default_factory=dict)
    profile: dict | None = None
    snapshot: str | None = None  # its profile as a submission freezes it (JSON)
    budget_snapshots: dict[int, tuple[str, str | None]] = field(default_factory=dict)  # year -> (JSON, size)
    demo: bool = False


@dataclass(slots=True, eq=False)
class Territory:
    index: int
    epci: str
    epci_siren: str
    department: str
    communes: list[tuple[str, str]]
    qpvs: list[tuple[str, str, str, str]] = field(default_factory=list)  # (code, name, commune, INSEE)
    funders: list[Funder] = field(default_factory=list)
    associations: list[Association] = field(default_factory=list)
    rng: random.Random | None = None  # the generator its dossiers are drawn from

    @property
    def city(self) -> Funder:
        return next(f for f in self.funders if f.category == "city")

    @property
    def state(self) -> Funder:
        return next(f for f in self.funders if f.category == "state")


def slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:50]


def qpv_department(department: str) -> str:
    return department.rjust(3, "0")


@dataclass(frozen=True, slots=True)
class RealQpv:
    code: str
    name: str
    insee_codes: tuple[str, ...]  # its communes, the first one first


@cache
def national_qpvs() -> tuple[RealQpv, ...]:
    with NATIONAL_LIST.open(encoding="utf-8", newline="") as handle:
        return tuple(RealQpv(row["code_qp"], row["lib_qp"], tuple(row["insee_com"].split("; ")))
                     for row in csv.DictReader(handle, delimiter=";"))


@cache
def commune_names() -> dict[str, str]:
    """The names of the communes the places name, by INSEE code (the national list has codes only)."""
    return {insee: name for *_, communes in places.TERRITORIES
            for name, insee in (part.split(":") for part in communes.split(";"))}


def postcode(department: str, rng: random.Random) -> str:
    head = {"2A": "20", "2B": "20"}.get(department, department)
    return head + "".join(str(rng.randrange(10)) for _ in range(5 - len(head)))


class Builder:
    def __init__(self, frame: Frame, seed: int, registry: Registry, existing_qpvs: list[tuple]):
        self.frame = frame
        self.seed = seed
        self.registry = registry
        self.existing_qpvs = existing_qpvs
        self.taken: set[str] = set()  # real QPVs already given to a territory
        # Stored but retired by a newer list: never handed out.
        self.retired = {code for code, *_, is_retired in existing_qpvs if is_retired}
        self.by_commune: dict[str, list[RealQpv]] = {}
        self.by_department: dict[str, list[RealQpv]] = {}
        for qpv in national_qpvs():
            self.by_commune.setdefault(qpv.insee_codes[0], []).append(qpv)
            self.by_department.setdefault(qpv.code[2:5], []).append(qpv)

    def territories(self, count: int, funders: int, associations: int) -> list[Territory]:
        rng = random.Random(f"{self.seed}:country")
        # Some contrats de ville are bigger than others.
        funder_quota = apportion(funders, [rng.uniform(0.8, 1.2) for _ in range(count)])
        association_quota = apportion(associations, [rng.uniform(0.6, 1.4) for _ in range(count)])
        built = []
        for index in range(1, count + 1):
            local = random.Random(f"{self.seed}:territory:{index}")
            territory = self._territory(index, local)
            self._qpvs(territory, local)
            self._funders(territory, funder_quota[index - 1], local)
            self._associations(territory, association_quota[index - 1], local)
            built.append(territory)
        return built

    def _territory(self, index: int, rng: random.Random) -> Territory:
        known = places.TERRITORIES[(index - 1) % len(places.TERRITORIES)]
        epci, siren, department, communes = known
        if index > len(places.TERRITORIES):  # more territories than the list: the same places, numbered
            epci, siren = f"{epci} ({index})", None
        parsed: list[tuple[str, str]] = []
        for part in communes.split(";"):  # "name:INSEE": a part in any other shape is refused here
            name, insee = part.split(":")
            parsed.append((name, insee))
        return Territory(index=index, epci=epci, epci_siren=siren or self.registry.siren("24"), department=department,
                         communes=parsed)

    def _qpvs(self, territory: Territory, rng: random.Random) -> None:
        """The territory's QPVs: the demo's of its EPCI, then the real ones of its communes (main commune first);
        a territory whose communes have none left (none in the 2024 list, or places repeated past the list) takes
        real ones of its département, then of anywhere."""
        territory.qpvs = [(code, name, commune.split(",")[0], insee)
                          for code, name, commune, insee, siren, is_retired in self.existing_qpvs
                          if siren == territory.epci_siren and not is_retired]
        wanted = max(draw(rng, 10, 20), len(territory.qpvs))
        seen = {q[0] for q in territory.qpvs}
        names = commune_names()
        candidates = [qpv for _, insee in territory.communes for qpv in self.by_commune.get(insee, [])]
        if not candidates and not territory.qpvs:
            candidates = self.by_department.get(qpv_department(territory.department), []) or list(national_qpvs())
        candidates = [qpv for qpv in candidates if qpv.code not in self.retired]
        if not candidates and not territory.qpvs:
            candidates = [qpv for qpv in national_qpvs() if qpv.code not in self.retired]
        # Each real QPV in one territory, unless none is left: then shared with the territory that has it.
        fresh = [qpv for qpv in candidates if qpv.code not in self.taken]
        for qpv in fresh or (candidates if not territory.qpvs else []):
            if len(territory.qpvs) >= wanted:
                break
            if qpv.code in seen:
                continue
            seen.add(qpv.code)
            insee = qpv.insee_codes[0]
            territory.qpvs.append((qpv.code, qpv.name, names.get(insee, ""), insee))
        self.taken.update(seen)

    def qpv_rows(self, territories: list[Territory], batch: Batch) -> None:
        existing = {code for code, *_ in self.existing_qpvs}
        real = {qpv.code: qpv for qpv in national_qpvs()}
        names = commune_names()
        rows, communes = batch.rows_of(QPVS), batch.rows_of(QPV_COMMUNES)
        for t in territories:
            for code, name, _commune, insee in t.qpvs:
                if code in existing:
                    continue  # already stored, or given to an earlier territory of the same places
                existing.add(code)
                insee_codes = real[code].insee_codes if code in real else (insee,)
                joined = ", ".join(names[c] for c in insee_codes if c in names)
                rows.append((code, name, joined, insee_codes[0], t.epci, t.epci_siren, qpv_department(t.department)))
                communes.extend((code, c, position, names.get(c, "")) for position, c in enumerate(insee_codes))

    def _funders(self, territory: Territory, quota: int, rng: random.Random) -> None:
        roster = ["state", "city", "epci", "departement", "region", "caf"]
        roster += ["city"] * (len(territory.communes) - 1)
        if territory.index == 1:  # the demo's funders stand for these; the demo region stays out of Rennes
            territory.funders = [self._demo_funder(key) for key in DEMO_FUNDERS]
            roster = ["city"] * (len(territory.communes) - 1)
        roster += [OTHER_FUNDERS[i % len(OTHER_FUNDERS)] for i in range(max(0, quota - len(roster)))]
        cities = iter(territory.communes[1:] if territory.index == 1 else territory.communes)
        counters: dict[str, int] = {}
        for category in roster[:quota]:
            counters[category] = counters.get(category, 0) + 1
            commune = next(cities)[0] if category == "city" else None
            territory.funders.append(self._funder(territory, category, counters[category], commune, rng))

    def _demo_funder(self, key: str) -> Funder:
        demo = demo_data.organisation(key)
        instructor, manager, member = DEMO_ROLES[key]
        return Funder(id=id_of(demo.id), text=str(demo.id), name=demo.name, category=demo.funder_category or "other",
                      subjects=(person(instructor), person(manager), person(member)))

    def _funder(self, t: Territory, category: str, number: int, commune: str | None, rng: random.Random) -> Funder:
        main = t.communes[0][0]
        department = places.DEPARTMENTS[t.department]
        region = places.REGION_OF[t.department]
        names: dict[str, str | tuple[str, ...]] = {
            "state": f"Préfecture {department} ({t.epci})",
            "city": f"Ville de {commune}",
            "epci": t.epci,
            "departement": f"Département {department} ({t.epci})",
            "region": f"Région {region} ({t.epci})",
            "caf": f"CAF {department} ({t.epci})",
            "landlord": (f"{main} Habitat", f"Office public de l'habitat {department} — agence {main}",
                         f"Logis {main}", f"Les Foyers de {main}", f"SA HLM {region} — agence {main}"),
            "foundation": (f"Fondation {main} Solidarités", f"Fonds de dotation {main} Avenir",
                           f"Fondation pour l'enfance — {main}", f"Fondation d'entreprise {main} Énergies"),
            "other": (f"France Travail — agence de {main}", f"Caisse des Dépôts — {t.epci}",
                      f"ARS {region} — délégation {department}", f"Pôle métropolitain {main}"),
        }
        name = names[category]
        if isinstance(name, tuple):  # the n-th of its kind in the territory; numbered once the names run out
            turn, index = divmod(number - 1, len(name))
            name = name[index] + (f" ({turn + 1})" if turn else "")
        funder_id = new_id(rng)
        subject = id_text(new_id(rng))
        return Funder(id=funder_id, text=id_text(funder_id), name=name[:200],
                      category=category, subjects=(subject, subject, subject))

    def funder_rows(self, territories: list[Territory], batch: Batch, rng: random.Random) -> None:
        rows = batch.rows_of(ORGANISATIONS)
        first = day(self.frame.first_year - 1, 3, 1) * DAY
        for t in territories:
            for f in t.funders:
                if t.index == 1 and f.text in DEMO_IDS:
                    continue
                at = first + rng.randrange(200) * DAY + rng.randrange(8, 18) * HOUR
                siret = (self.registry.siret_of_siren(t.epci_siren) if f.category == "epci"
                         else self.registry.siret(SIREN_PREFIX[f.category]))
                email = f"contact@{slug(f.name)}.{MARKER_DOMAIN}"
                rows.append((f.id, "funder", f.name, siret, None, f.category, "[]", None, email, 1, at, at))

    def _associations(self, territory: Territory, quota: int, rng: random.Random) -> None:
        if territory.index == 1:
            territory.associations = [self._demo_association(key, territory) for key in DEMO_ASSOCIATIONS]
        places_named = [q[1] for q in territory.qpvs] + [c[0] for c in territory.communes]
        used: set[str] = {a.name for a in territory.associations}
        for _ in range(quota):
            home = rng.randrange(len(territory.qpvs))
            where = territory.qpvs[home][1] if rng.random() < 0.8 else rng.choice(places_named)
            name = rng.choice(places.ASSOCIATION_NAMES).format(q=where)
            suffix = 2
            while name in used:
                name, suffix = f"{name.rsplit(' — ', 1)[0]} — {suffix}", suffix + 1
            used.add(name)
            territory.associations.append(self._association(territory, name, home, rng))

    def _association(self, t: Territory, name: str, home: int, rng: random.Random) -> Association:
        chance, bracket = rng.random(), 0
        while bracket < len(SIZES) - 1 and chance >= SIZES[bracket][0]:
            chance -= SIZES[bracket][0]
            bracket += 1
        _, low, high, staff = SIZES[bracket]
        charges = rng.randrange(low, high + 1, 100) * 100
        association_id = new_id(rng)
        # Bigger associations file more dossiers.
        association = Association(id=association_id, text=id_text(association_id), name=name[:200], home=home,
                                  weight=2 ** bracket * rng.lognormvariate(0, 0.6), holder=id_text(new_id(rng)))
        employees = draw(rng, *staff)
        volunteers, members = draw(rng, 3, 80), draw(rng, 10, 400)
        commune, insee = t.communes[0] if rng.random() < 0.7 else rng.choice(t.communes)
        first, last = rng.choice(places.FIRST_NAMES), rng.choice(places.LAST_NAMES)
        contact = rng.random() < 0.5
        contact_first, contact_last = rng.choice(places.FIRST_NAMES), rng.choice(places.LAST_NAMES)
        domain = f"{slug(name)}.{MARKER_DOMAIN}"
        association.profile = {
            "representative_name": f"{first} {last}", "representative_function": "Présidence",
            "representative_email": f"presidence@{domain}", "representative_phone": f"0{rng.randrange(1, 6)}"
            + "".join(str(rng.randrange(10)) for _ in range(8)),
            "contact_name": f"{contact_first} {contact_last}" if contact else None,
            "contact_function": "Coordination" if contact else None,
            "contact_email": f"coordination@{domain}" if contact else None, "contact_phone": None,
            "street_lines": [f"{draw(rng, 1, 120)} {rng.choice(places.STREETS)}"],
            "postcode": postcode(t.department, rng), "city": commune, "insee_code": insee,
            "volunteers": volunteers, "employees": employees, "fte_hundredths": employees * draw(rng, 60, 100),
            "members": members, "paying_members": draw(rng, 0, members) if rng.random() < 0.7 else None,
        }
        for year in self.frame.years:
            association.budget_lines[year] = association_budget_lines(charges, employees, volunteers, rng)
            charges = max(500_000, charges * draw(rng, 95, 108) // 100 // 10_000 * 10_000)
        return association

    def _demo_association(self, key: str, t: Territory) -> Association:
        demo = demo_data.organisation(key)
        charges_lines, income_lines = demo_data.ASSOCIATION_BUDGETS[key]
        lines = tuple((("charge", group, label, amount, None) for group, label, amount in charges_lines)) + tuple(
            ("income", group, label, amount, str(demo_data.organisation(funder).id) if funder else None)
            for group, label, amount, funder in income_lines)
        home = next((i for i, q in enumerate(t.qpvs) if q[0] == DEMO_HOMES[key]), 0)
        # Blosne Avenir files the dossiers the plan gives it (see dossiers.plan_territory), no more.
        association = Association(id=id_of(demo.id), text=str(demo.id), name=demo.name, home=home,
                                  weight=0.0 if key == "blosne-avenir" else 1.0,
                                  holder=person(next(u.email for u in demo_data.USERS
                                                      if u.organisation == key and "holder_admin" in u.roles)),
                                  profile=dict(demo_data.PROFILES[key]), demo=True)
        for year in self.frame.years:
            association.budget_lines[year] = lines
        return association

    def association_rows(self, territories: list[Territory], batch: Batch, rng: random.Random,
                         taken_budgets: set[tuple[bytes, int]]) -> None:
        organisations, profiles = batch.rows_of(ORGANISATIONS), batch.rows_of(PROFILES)
        budgets, lines = batch.rows_of(BUDGETS), batch.rows_of(BUDGET_LINES)
        first = day(self.frame.first_year - 1, 1, 1) * DAY
        for t in territories:
            for a in t.associations:
                assert a.profile is not None, "every association is drawn with its profile"
                at = first + rng.randrange(300) * DAY + rng.randrange(8, 18) * HOUR
                a.snapshot = profile_snapshot(a.text, a.profile, at, "demo" if a.demo else MARKER)
                if not a.demo:
                    p = a.profile
                    organisations.append((
                        a.id, "association", a.name, self.registry.siret(SIREN_PREFIX["association"]),
                        self.registry.rna(t.department), None, "[]",
                        f"{p['street_lines'][0]}, {p['postcode']} {p['city']}", p["representative_email"],
                        1, at, at))
                    profiles.append((
                        a.id, p["representative_name"], p["representative_function"], p["representative_email"],
                        p["representative_phone"], p["contact_name"], p["contact_function"], p["contact_email"],
                        p["contact_phone"], json.dumps(p["street_lines"]), p["postcode"], p["city"], p["insee_code"],
                        p["volunteers"], p["employees"], p["fte_hundredths"], p["members"], p["paying_members"],
                        # Every seeded association asks public aid: it signed the contract with its profile.
                        1, at, at, MARKER, day_of(at), p["representative_name"]))
                for year, year_lines in a.budget_lines.items():
                    saved = min(day(year - 1, 12, 1) * DAY + rng.randrange(30) * DAY + 10 * HOUR, self.frame.as_of)
                    a.budget_saved[year] = saved
                    if (a.id, year) in taken_budgets:
                        continue
                    budget_id = new_id(rng)
                    budgets.append((budget_id, a.id, None, year, 1, MARKER, saved))
                    positions = {"charge": 0, "income": 0}
                    for side, group, label, amount, funder in year_lines:
                        lines.append((new_id(rng), budget_id, side, positions[side], group, label, amount,
                                      id_of(funder) if funder else None, False))
                        positions[side] += 1


DEMO_ASSOCIATIONS = ("blosne-avenir", "maurepas-solidaire", "jardins-gros-chene")
DEMO_HOMES = {"blosne-avenir": "QN03505M", "maurepas-solidaire": "QN03504M", "jardins-gros-chene": "QN03504M"}
DEMO_IDS = {str(o.id) for o in demo_data.ORGANISATIONS}
