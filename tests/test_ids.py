"""Time-ordered ids: the order they were made in survives a clock that stands still and a burst in one millisecond."""

import time
import uuid

from common.ids import time_ordered_uuid


def test_ids_made_one_after_the_other_sort_in_that_order() -> None:
    made = [time_ordered_uuid() for _ in range(20_000)]  # many share a millisecond
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_they_are_rfc_9562_version_7_with_the_time_in_front() -> None:
    before = time.time_ns() // 1_000_000
    made = time_ordered_uuid()
    after = time.time_ns() // 1_000_000
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert before <= made.int >> 80 <= after


def test_they_survive_a_round_trip_as_text() -> None:
    made = time_ordered_uuid()
    assert uuid.UUID(str(made)) == made
