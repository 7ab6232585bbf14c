"""Who is due in shift k: primaries in order, shadows rotated so each meets every primary.

With p primaries and s shadows, shift k's primary is position k mod p. Its shadow is
position k mod s when gcd(p, s) = 1, and (k + k // L) mod s otherwise, where L = lcm(p, s):
the shadow sequence slips by one every L shifts.

Property (no absences, no one in both lists): for every integer q, the p * s shifts
k in [q*L, q*L + p*s) contain every (primary, shadow) pair exactly once; so any run of
p*s + L - 1 consecutive shifts contains every pair at least once.

Proof. Let g = gcd(p, s) and write k = m*L + r with 0 <= r < L. As p and s divide L, the pair
of positions is (r mod p, (r + m) mod s) -- for g = 1 read m as 0. By the Chinese remainder
theorem, r -> (r mod p, r mod s) is a bijection from [0, L) onto the pairs (i, j) with
i = j (mod g), since L = p*s/g is exactly the number of such pairs. Adding m to the shadow
position maps that set bijectively onto the pairs with j - i = m (mod g). The g blocks
m = q, ..., q + g - 1 have distinct m mod g, so between them they cover all g residues, each
pair class once, which is g * L = p * s shifts and every pair exactly once. For g = 1 a
single block already covers all p * s pairs. A run of p*s + L - 1 shifts contains a
block-aligned run of g blocks. Each block also gives every primary L/p shifts and every
shadow L/s shifts, so the load stays even.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import gcd


def due_positions(index: int, primaries: int, shadows: int) -> tuple[int | None, int | None]:
    """Positions in the primary and shadow lists due in shift `index` (None for an empty list)."""
    primary = index % primaries if primaries else None
    if not shadows:
        return primary, None
    slip = 0
    if primaries and gcd(primaries, shadows) > 1:
        slip = index // (primaries * shadows // gcd(primaries, shadows))
    return primary, (index + slip) % shadows


def first_eligible(people: Sequence[str], due: int | None, eligible: Callable[[str], bool]) -> str | None:
    """The first eligible person walking the list from `due` onwards (wrapping), or None."""
    if due is None:
        return None
    for step in range(len(people)):
        person = people[(due + step) % len(people)]
        if eligible(person):
            return person
    return None
