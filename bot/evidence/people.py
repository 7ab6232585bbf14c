"""Who releases: the share started by developers, and how concentrated deploys and approvals are.

A *developer* is anyone who is not a primary of any configured rotation (primaries are ops, §6);
every release counted here went through Switchman, so the share is of Switchman's own releases.
Person-dependence is the top person's share and the number of distinct people; the top person is
the one with the most, ties going to the first by Slack id, so the answer does not wander.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.evidence.spread import ratio


@dataclass(frozen=True)
class Concentration:
    total: int
    people: int  # distinct people
    top: str | None  # Slack id of the person with the most
    top_share: float | None  # their share of the total


@dataclass(frozen=True)
class PeopleFigures:
    by_developers: int  # deploys requested by developers
    developer_share: float | None  # by_developers ÷ deploys
    deploys: Concentration
    approvals: Concentration


def concentration(counts: Mapping[str, int]) -> Concentration:
    total = sum(counts.values())
    if not counts:
        return Concentration(0, 0, None, None)
    top = min(counts, key=lambda person: (-counts[person], person))
    return Concentration(total, len(counts), top, ratio(counts[top], total))


def people_figures(deploys: Mapping[str, int], approvals: Mapping[str, int], *,
                   operators: frozenset[str]) -> PeopleFigures:
    by_developers = sum(n for person, n in deploys.items() if person not in operators)
    return PeopleFigures(by_developers, ratio(by_developers, sum(deploys.values())), concentration(deploys),
                         concentration(approvals))
