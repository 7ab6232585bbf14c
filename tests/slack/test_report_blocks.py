"""The post-release report's Block Kit stays within Slack's limits however large the release was,
and says what the report says (risk, overrides, rollback) in words a reader can act on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.release.report_data import Check, GateLine, Report, RollbackStatus, Scope, Stage, Vote
from bot.slack.report_blocks import report_message
from tests.contracts.slack_blocks_limits import check_message

AT = datetime(2026, 11, 18, 10, tzinfo=UTC)


def report(*, gates: int = 3, stages: int = 1, checks: int = 1, follow_ups: int = 0, evidence: str = "ok",
           migrations: int = 0) -> Report:
    stage_list = [Stage(f"Stage {i + 1}/{stages}", 100, AT, f"run-{i}", "succeeded", AT + timedelta(minutes=1),
                        "passed", AT + timedelta(minutes=6), 300.0, None,
                        [Check(f"http https://x/{j}", "inconclusive", evidence) for j in range(checks)])
                  for i in range(stages)]
    return Report(
        release_id=7, kind="deploy", service="api", environment="production", ref="v1" * 100, sha="a" * 40,
        state="succeeded", outcome="released and verified", requested_by="U0ALICE", requested_at=AT,
        finished_at=AT + timedelta(minutes=40),
        scope=Scope(12, 40, [f"db/migrations/{i:04}_x.sql" for i in range(migrations)], AT - timedelta(days=1), 3,
                    86400.0 * 9, "high" if migrations else "medium", ["12 commits (more than 5)"]),
        gates=[GateLine(f"gate{i}", "fail" if i == 0 else "pass", evidence, None,
                        "U0CAROL" if i == 0 else None, "the outage" if i == 0 else None) for i in range(gates)],
        decided="GO", decided_by="U0CAROL", approvals=[Vote("U0CAROL", True, "ship it", AT)], strategy="canary",
        stages=stage_list,
        rollback=RollbackStatus(True, 8, "succeeded", "switchman", True, "answered 503", AT + timedelta(hours=1)),
        follow_ups=[f"item {i}: {evidence}" for i in range(follow_ups)])


def test_an_ordinary_report_names_every_part() -> None:
    text, blocks = report_message(report(migrations=2))
    assert check_message({"text": text, "blocks": blocks}, "report") == []
    assert blocks[0]["text"]["text"] == "Post-release report · Release #7"
    for words in ("*Scope and risk:* :red_circle: *high*", "migrations flagged: `db/migrations/0000_x.sql`",
                  "1w2d since the last release of production (#3)", "`gate0` fail — *overridden* by <@U0CAROL>",
                  "Decision: *GO* (by <@U0CAROL>)", "Stage 1/1: dispatched", "baked 5m",
                  "rolled back (rollback #8 succeeded) — triggered automatically", "*Follow-up:* nothing"):
        assert words in text


def test_a_huge_report_is_split_and_cut_to_block_kit_limits() -> None:
    huge = report(gates=80, stages=10, checks=12, follow_ups=200, evidence="x" * 5000, migrations=500)
    text, blocks = report_message(huge)
    assert check_message({"text": text, "blocks": blocks}, "report") == []
    assert len(blocks) == 50 and "the whole of it is stored with the release" in blocks[-1]["text"]["text"]
    assert "and 490 more" in text  # migrations beyond ten are counted, not listed
