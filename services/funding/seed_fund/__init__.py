"""The seed fund after its committee: the collective's mid-term learning review, accepted by the desk
(learning_reviews.py), and the project's verdict at its end: stop, continue or graduate onto a CPO or an annual
call, on the same thread (verdicts.py). The seed grid scored in session is the committee's (committee/scoring.py)."""
