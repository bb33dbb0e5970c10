"""The demo territory: Rennes, its desk, five funders, a citizen council, two associations, one user per role.

Identifiers are fictitious but valid (SIRETs by stdnum.fr.siret, RNA format). Ids are derived from names (uuid5),
so every service seeds the same ids and seeding twice changes nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

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
    DemoOrganisation("conseil-blosne", "citizen_council", "Conseil citoyen du Blosne", qpv_codes=("QN03505M",)),
    DemoOrganisation(
        "blosne-avenir", "association", "Association Blosne Avenir", siret="81234567600017", rna="W353012345"
    ),
    DemoOrganisation(
        "maurepas-solidaire", "association", "Maurepas Solidaire", siret="82345678500018", rna="W353067890"
    ),
    DemoOrganisation(
        "jardins-gros-chene", "association", "Les Jardins du Gros Chêne", siret="83456789300013", rna="W353045678"
    ),
    # A funder of the region that takes part in none of Rennes' programmes: it sees none of its sessions.
    DemoOrganisation("region", "funder", "Région Bretagne", siret="23350001600040", funder_category="region"),
)

USERS = (
    DemoUser("admin@plateforme.example", "Camille Martin", "platform", ("platform_admin",)),
    DemoUser("coordination@guichet-rennes.example", "Nadia Benali", "desk", ("desk_coordinator",)),
    DemoUser("instruction@ville-rennes.example", "Louis Perrin", "ville", ("funder_instructor",)),
    DemoUser("direction@ville-rennes.example", "Sophie Le Goff", "ville", ("funder_manager",)),
    DemoUser("instruction@prefecture35.example", "Hugo Lemoine", "prefecture", ("funder_instructor",)),
    DemoUser("comite@prefecture35.example", "Claire Robin", "prefecture", ("committee_member",)),
    DemoUser("direction@prefecture35.example", "Thomas Garnier", "prefecture", ("funder_manager",)),
    DemoUser("conseil@conseil-blosne.example", "Moussa Traoré", "conseil-blosne", ("citizen_reviewer",)),
    DemoUser("presidence@blosne-avenir.example", "Awa Diallo", "blosne-avenir", ("holder_admin",)),
    DemoUser("benevole@blosne-avenir.example", "Yann Guillou", "blosne-avenir", ("holder_member",)),
    DemoUser("presidence@maurepas-solidaire.example", "Inès Moreau", "maurepas-solidaire", ("holder_admin",)),
    DemoUser("presidence@jardins-gros-chene.example", "Karim Haddad", "jardins-gros-chene", ("holder_admin",)),
    # Who sits on the comité des financeurs for each funder (the State's member is above); in the smaller
    # funders, the manager who examines the dossiers also sits.
    DemoUser("comite@ville-rennes.example", "Marie Lebreton", "ville", ("committee_member",)),
    DemoUser("direction@rennes-metropole.example", "Paul Ménard", "metropole", ("funder_manager", "committee_member")),
    DemoUser("direction@departement35.example", "Anne Collet", "departement", ("funder_manager", "committee_member")),
    DemoUser("direction@caf35.example", "Julien Riou", "caf", ("funder_manager", "committee_member")),
    DemoUser("comite@region-bretagne.example", "Lena Kervella", "region", ("committee_member",)),
)

FUNDER_KEYS = ("prefecture", "ville", "metropole", "departement", "caf")
PROGRAMME_ID = demo_id("programme:annual-call")
PROGRAMME_TITLE = "Appel à projets du contrat de ville de Rennes Métropole"


def organisation(key: str) -> DemoOrganisation:
    return next(o for o in ORGANISATIONS if o.key == key)


# Each demo association's yearly budget (the form's "budget prévisionnel de l'association"), balanced:
# (account group, label, amount in cents, funder key for an account 74 line).
ASSOCIATION_BUDGETS: dict[str, tuple[list[tuple[str, str, int]], list[tuple[str, str, int, str | None]]]] = {
    "blosne-avenir": (
        [("60", "Achats et fournitures", 1_800_000), ("61", "Locations et entretien", 2_400_000),
         ("62", "Honoraires, déplacements, communication", 1_800_000), ("64", "Salaires et charges", 19_000_000),
         ("86", "Bénévolat valorisé", 3_000_000)],
        [("70", "Participation des familles", 4_000_000, None), ("74", "Ville de Rennes", 12_000_000, "ville"),
         ("74", "État (politique de la ville)", 5_000_000, "prefecture"),
         ("75", "Cotisations et dons", 4_000_000, None),
         ("87", "Bénévolat valorisé", 3_000_000, None)],
    ),
    "maurepas-solidaire": (
        [("60", "Achats", 1_200_000), ("62", "Services extérieurs", 1_600_000), ("64", "Salaires", 15_200_000)],
        [("74", "Ville de Rennes", 9_000_000, "ville"), ("74", "CAF d'Ille-et-Vilaine", 6_000_000, "caf"),
         ("75", "Cotisations et dons", 3_000_000, None)],
    ),
    "jardins-gros-chene": (
        [("60", "Semences et outillage", 600_000), ("61", "Location des parcelles", 400_000),
         ("64", "Animateur à mi-temps", 2_000_000)],
        [("74", "Rennes Métropole", 1_500_000, "metropole"), ("74", "Département d'Ille-et-Vilaine", 800_000,
                                                               "departement"),
         ("75", "Cotisations", 700_000, None)],
    ),
}

# Each demo association's profile (the form's identification pages), entered once for every dossier.
PROFILES: dict[str, dict[str, Any]] = {
    "blosne-avenir": {
        "representative_name": "Awa Diallo", "representative_function": "Présidente",
        "representative_email": "presidence@blosne-avenir.example", "representative_phone": "0299000001",
        "contact_name": "Yann Guillou", "contact_function": "Coordinateur bénévole",
        "contact_email": "benevole@blosne-avenir.example", "contact_phone": "0299000002",
        "street_lines": ["12 boulevard de Yougoslavie"], "postcode": "35200", "city": "Rennes", "insee_code": "35238",
        "volunteers": 42, "employees": 5, "fte_hundredths": 380, "members": 160, "paying_members": 120,
        "republican_contract_signed_on": date(2023, 3, 14), "republican_contract_signatory": "Awa Diallo",
    },
    "maurepas-solidaire": {
        "representative_name": "Inès Moreau", "representative_function": "Présidente",
        "representative_email": "presidence@maurepas-solidaire.example",
        "street_lines": ["3 place du Gros Chêne"], "postcode": "35700", "city": "Rennes", "insee_code": "35238",
        "volunteers": 25, "employees": 3, "fte_hundredths": 250, "members": 90,
        "republican_contract_signed_on": date(2022, 9, 6), "republican_contract_signatory": "Inès Moreau",
    },
    "jardins-gros-chene": {
        "representative_name": "Karim Haddad", "representative_function": "Président",
        "representative_email": "presidence@jardins-gros-chene.example",
        "street_lines": ["7 rue de Trégain"], "postcode": "35700", "city": "Rennes", "insee_code": "35238",
        "volunteers": 18, "employees": 1, "fte_hundredths": 50, "members": 45,
        "republican_contract_signed_on": date(2024, 1, 22), "republican_contract_signatory": "Karim Haddad",
    },
}
