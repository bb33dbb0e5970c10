"""The seeded country's QPVs (scripts/country/territories.py), without a database: real codes of the 2024 list,
each in one territory, in the territory's communes, never a retired one."""

from scripts.country.calendar import Frame
from scripts.country.ids import Registry
from scripts.country.territories import Builder, Territory, national_qpvs

NATIONAL = {qpv.code: qpv for qpv in national_qpvs()}
# As the database holds them after the demo: (code, name, commune, INSEE, EPCI SIREN, retired).
STORED = [
    ("QN03504M", "Maurepas", "Rennes", "35238", "243500139", False),
    ("QN03505M", "Le Blosne", "Rennes", "35238", "243500139", False),
    ("QN03506I", "Cleunay", "Rennes", "35238", "243500139", True),  # dropped by a newer list
]


def country(count: int, stored: list[tuple] = STORED) -> list[Territory]:
    builder = Builder(Frame(first_year=2025, last_year=2027, as_of=2027), 1, Registry(set(), set()), stored)
    return builder.territories(count, 4 * count, count)


def test_every_qpv_is_a_real_one_of_the_territory_s_communes() -> None:
    territories = country(12)
    for territory in territories:
        assert territory.qpvs, territory.epci
        communes = {insee for _, insee in territory.communes}
        for code, name, _commune, insee in territory.qpvs:
            assert code in NATIONAL and NATIONAL[code].name == name and insee == NATIONAL[code].insee_codes[0]
            assert insee in communes or territory.epci == "Grand Annecy"  # Annecy has no QPV in 2024
    codes = [q[0] for t in territories for q in t.qpvs]
    assert len(codes) == len(set(codes))  # each in one territory


def test_a_retired_qpv_is_never_handed_out() -> None:
    rennes = country(1)[0]
    assert {"QN03504M", "QN03505M"} <= {q[0] for q in rennes.qpvs}
    assert "QN03506I" not in {q[0] for q in rennes.qpvs}
