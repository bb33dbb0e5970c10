"""Drawing numbers: whole numbers in a range, and a total shared out in whole parts."""

import random


def draw(rng: random.Random, low: int, high: int) -> int:
    """A whole number from `low` to `high` included: `rng.randint`'s draw, at a tenth of its cost (millions of
    dates and amounts are drawn)."""
    return low + int(rng.random() * (high - low + 1))


def apportion(total: int, weights: list[float]) -> list[int]:
    """`total` shared along `weights` in whole numbers adding up exactly (largest remainders)."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    parts = [int(x) for x in exact]
    for index in sorted(range(len(weights)), key=lambda i: parts[i] - exact[i])[: total - sum(parts)]:
        parts[index] += 1
    return parts
