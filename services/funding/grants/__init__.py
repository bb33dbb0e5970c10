"""Grants, after the decision: each funder's share granted (service.py), its agreement, a convention or a
decision letter, drafted, sent, signed and in force (agreements.py, agreement_document.py), and its payments: the
instalments cut from it along the track's rules (instalments.py; the cents arithmetic is
programmes/payment_schedule.py), asked for by the association and paid by the funder (payments.py)."""
