"""The demo territory: Rennes, its desk, five funders, a citizen council, two associations, one user per role.

Identifiers are fictitious but valid (Luhn SIRET, RNA format). Ids are derived from names (uuid5),
so every service seeds the same ids and seeding twice changes nothing.
"""

import uuid
from dataclasses import dataclass

NAMESPACE = uuid.UUID("6f1d2c7e-3a4b-4c5d-8e9f-0a1b2c3d4e5f")
DEMO_PASSWORD = "demo-password-2026"


def demo_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


@dataclass(frozen=True)
class DemoOrganisation:
    key: str
    kind: str
    name: str
    siret: str | None = None
    rna: str | None = None
    funder_category: str | None = None
    qpv_codes: tuple[str, ...] = ()

    @property
    def id(self) -> uuid.UUID:
        return demo_id(f"organisation:{self.key}")


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    organisation: str
    roles: tuple[str, ...]

    @property
    def id(self) -> uuid.UUID:
        return demo_id(f"person:{self.email}")


ORGANISATIONS = (
    DemoOrganisation("platform", "platform", "Plateforme du guichet unique", siret="90123456700013"),
    DemoOrganisation("desk", "desk", "Guichet unique du contrat de ville de Rennes Métropole", siret="21350239600012"),
    DemoOrganisation(
        "prefecture", "funder", "Préfecture d'Ille-et-Vilaine", siret="17350001800010", funder_category="state"
    ),
    DemoOrganisation("ville", "funder", "Ville de Rennes", siret="21350238800019", funder_category="city"),
    DemoOrganisation("metropole", "funder", "Rennes Métropole", siret="24350013900015", funder_category="epci"),
    DemoOrganisation(
        "departement", "funder", "Département d'Ille-et-Vilaine", siret="22350001800013", funder_category="departement"
    ),
    DemoOrganisation("caf", "funder", "CAF d'Ille-et-Vilaine", siret="77562316800017", funder_category="caf"),
    DemoOrganisation("conseil-blosne", "citizen_council", "Conseil citoyen du Blosne", qpv_codes=("QN03502B",)),
    DemoOrganisation(
        "blosne-avenir", "association", "Association Blosne Avenir", siret="81234567600017", rna="W353012345"
    ),
    DemoOrganisation(
        "maurepas-solidaire", "association", "Maurepas Solidaire", siret="82345678500018", rna="W353067890"
    ),
)

USERS = (
    DemoUser("admin@plateforme.example", "Camille Martin", "platform", ("platform_admin",)),
    DemoUser("coordination@guichet-rennes.example", "Nadia Benali", "desk", ("desk_coordinator",)),
    DemoUser("instruction@ville-rennes.example", "Louis Perrin", "ville", ("funder_instructor",)),
    DemoUser("direction@ville-rennes.example", "Sophie Le Goff", "ville", ("funder_manager",)),
    DemoUser("instruction@prefecture35.example", "Hugo Lemoine", "prefecture", ("funder_instructor",)),
    DemoUser("comite@prefecture35.example", "Claire Robin", "prefecture", ("committee_member",)),
    DemoUser("conseil@conseil-blosne.example", "Moussa Traoré", "conseil-blosne", ("citizen_reviewer",)),
    DemoUser("presidence@blosne-avenir.example", "Awa Diallo", "blosne-avenir", ("holder_admin",)),
    DemoUser("benevole@blosne-avenir.example", "Yann Guillou", "blosne-avenir", ("holder_member",)),
    DemoUser("presidence@maurepas-solidaire.example", "Inès Moreau", "maurepas-solidaire", ("holder_admin",)),
)

FUNDER_KEYS = ("prefecture", "ville", "metropole", "departement", "caf")
PROGRAMME_ID = demo_id("programme:annual-call")
PROGRAMME_TITLE = "Appel à projets du contrat de ville de Rennes Métropole"


def organisation(key: str) -> DemoOrganisation:
    return next(o for o in ORGANISATIONS if o.key == key)
