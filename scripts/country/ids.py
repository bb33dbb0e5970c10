"""Identifiers drawn from the seed's random generators: UUIDs (version 4) kept as their 16 raw bytes, SIREN and SIRET
with their check digit (stdnum's Luhn, checked against stdnum's SIRET rules), RNA numbers.

Raw bytes rather than uuid.UUID objects: a million dossiers take some forty million ids, and building the objects
would cost more than the rest of a row; the binary COPY sends the 16 bytes as they are.
"""

import random
import uuid

from stdnum import luhn

from services.identifiers import LA_POSTE_SIREN, is_valid_siren, is_valid_siret

_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)
_VERSION_BITS = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)


def new_id(rng: random.Random) -> bytes:
    return ((rng.getrandbits(128) & _VERSION_BITS) | _VERSION_4).to_bytes(16)


def id_text(raw: bytes) -> str:
    """The canonical text of a raw id, as the API writes it."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def id_of(value: uuid.UUID | str) -> bytes:
    return (value if isinstance(value, uuid.UUID) else uuid.UUID(value)).bytes


def luhn_key(digits: str) -> str:
    """The digit that makes `digits` followed by it pass the Luhn check."""
    return luhn.calc_check_digit(digits)


class Registry:
    """Unique SIRETs and RNA numbers, never one already stored (the demo's, or an earlier import's)."""

    def __init__(self, taken_sirets: set[str], taken_rnas: set[str]):
        self.sirets = set(taken_sirets)
        self.sirens = {siret[:9] for siret in taken_sirets}
        self.rnas = set(taken_rnas)
        self.next_number: dict[str, int] = {}

    def siret(self, prefix: str) -> str:
        """A head office's SIRET under a new SIREN starting with `prefix` (the kind of body: 21 a commune, 24 an
        EPCI, 22 a département, 17 a State service…)."""
        return self.siret_of_siren(self.siren(prefix))

    def siren(self, prefix: str) -> str:
        while True:
            number = self.next_number.get(prefix, 0)
            self.next_number[prefix] = number + 1
            body = f"{prefix}{number:0{8 - len(prefix)}d}"
            siren = body + luhn_key(body)
            # La Poste's SIREN follows other rules for its establishments: never drawn.
            if siren not in self.sirens and siren != LA_POSTE_SIREN:
                assert is_valid_siren(siren)
                self.sirens.add(siren)
                return siren

    def siret_of_siren(self, siren: str) -> str:
        """The head office of a body whose SIREN is known (an EPCI's): its first free establishment number."""
        for nic in range(1, 1000):
            head = f"{siren}{nic:04d}"
            siret = head + luhn_key(head)
            if siret not in self.sirets:
                assert is_valid_siret(siret)
                self.sirets.add(siret)
                self.sirens.add(siren)
                return siret
        raise LookupError(f"no free SIRET under SIREN {siren}")

    def rna(self, department: str) -> str:
        """W, the département on two digits (Corsica 20, overseas their first two), then seven digits."""
        head = "W" + {"2A": "20", "2B": "20"}.get(department, department[:2])
        while True:
            number = self.next_number.get(head, 9_000_000)
            self.next_number[head] = number + 1
            rna = f"{head}{number:07d}"
            if rna not in self.rnas:
                self.rnas.add(rna)
                return rna
