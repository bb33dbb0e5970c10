"""The service clock of a delegated decision (small projects): it starts when the file is complete (submitted),
stands still while supplements are awaited, and stops at the decision. The due time is stored, so that the
overdue lists are one indexed query."""

from datetime import datetime, timedelta

from services.funding.models.dossier import Dossier
from services.funding.programmes.track_rules import TrackRules


def run(dossier: Dossier, rules: TrackRules, now: datetime) -> None:
    """Started at the first submission, or started again with the time it had left."""
    if rules.decision_target_days is None:
        return
    if dossier.clock_remaining_seconds is not None:
        dossier.decision_due_at = now + timedelta(seconds=dossier.clock_remaining_seconds)
    elif dossier.decision_due_at is None:
        dossier.decision_due_at = now + timedelta(days=rules.decision_target_days)
    dossier.clock_remaining_seconds = None


def pause(dossier: Dossier, now: datetime) -> None:
    """While the holder owes supplements: the time left is kept (negative once overdue)."""
    if dossier.decision_due_at is None:
        return
    dossier.clock_remaining_seconds = int((dossier.decision_due_at - now).total_seconds())
    dossier.decision_due_at = None


def stop(dossier: Dossier) -> None:
    dossier.decision_due_at = None
    dossier.clock_remaining_seconds = None
