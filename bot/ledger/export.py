"""`switchman export`: the decision ledger as JSON lines or CSV, streamed in seq order (§3, §10).

Every column is written, `prev_hash` and `hash` included, so an export can be checked against the
chain without the database: parse `decided_at` back to a datetime and `row_hash` gives `hash`.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from enum import StrEnum
from typing import Any, TextIO

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ledger.chain import format_instant
from bot.ledger.models import Decision
from bot.ledger.service import iter_decisions

COLUMNS = ("seq", "decided_at", "kind", "release_id", "subject", "actor", "outcome", "evidence", "permalink",
           "prev_hash", "hash")


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def exported(decision: Decision) -> dict[str, Any]:
    """One decision as plain JSON values, in column order."""
    values = {name: getattr(decision, name) for name in COLUMNS}
    values["decided_at"] = format_instant(decision.decided_at)
    return values


async def export_decisions(session: AsyncSession, out: TextIO, *, fmt: ExportFormat,
                           since: datetime | None = None, until: datetime | None = None) -> int:
    """Writes the decisions with `since <= decided_at < until` to `out`; returns how many."""
    count = 0
    writer = None
    if fmt == ExportFormat.CSV:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
    async for decision in iter_decisions(session, since=since, until=until):
        values = exported(decision)
        if writer is None:
            out.write(json.dumps(values, ensure_ascii=False) + "\n")
        else:
            values["evidence"] = json.dumps(values["evidence"], sort_keys=True, ensure_ascii=False)
            writer.writerow(["" if values[name] is None else values[name] for name in COLUMNS])
        count += 1
    return count
