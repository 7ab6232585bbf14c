"""The slash-command grammars: documented forms parse, anything else is a BadInput with usage."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import deploy, oncall, rollback
from bot.errors import BadInput

NAME = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True).filter(
    lambda s: s not in deploy.SUBCOMMANDS and s != "to")
REF = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,30}", fullmatch=True).filter(lambda s: s != "to")
REASON = st.text(st.characters(blacklist_categories=["Cs", "Cc"], blacklist_characters='"\\'), min_size=1,
                 max_size=40).filter(lambda s: s.strip() != "")


@given(service=NAME, env=NAME, ref=st.none() | REF, use_to=st.booleans(),
       strategy=st.none() | st.sampled_from(deploy.STRATEGIES), reason=st.none() | REASON)
def test_deploy_request_round_trips(service: str, env: str, ref: str | None, use_to: bool, strategy: str | None,
                                    reason: str | None) -> None:
    words = [service] + ([ref] if ref else []) + (["to"] if use_to else []) + [env]
    if strategy:
        words.append(f"--strategy {strategy}")
    if reason:
        words.append(f'--reason "{reason}"')
    parsed = deploy.parse(" ".join(words))
    assert parsed == deploy.DeployRequest(service, env, ref, strategy, reason.strip() if reason else None)


@given(st.text(max_size=60))
def test_any_text_is_either_a_command_or_a_bad_input_with_usage(text: str) -> None:
    for grammar in (deploy, rollback, oncall):
        try:
            grammar.parse(text)
        except BadInput as exc:
            assert exc.usage == grammar.USAGE
            assert exc.message


def test_deploy_subcommands() -> None:
    assert deploy.parse("") == deploy.DeployModal()
    assert deploy.parse("HELP") == deploy.DeployHelp()
    assert deploy.parse("status") == deploy.DeployStatus()
    assert deploy.parse("status api") == deploy.DeployStatus("api")
    assert deploy.parse("why api production") == deploy.DeployWhy("api", "production")
    assert deploy.parse('lock api production --reason "db migration"') == deploy.DeployLock(
        "api", "production", "db migration", timedelta(hours=2))
    assert deploy.parse("lock api production --for=30m --reason “typographic quotes”") == deploy.DeployLock(
        "api", "production", "typographic quotes", timedelta(minutes=30))
    assert deploy.parse("unlock api production") == deploy.DeployUnlock("api", "production")
    assert deploy.parse("history api") == deploy.DeployHistory("api")
    assert deploy.parse("metrics api --days 30") == deploy.DeployMetrics("api", 30)
    assert deploy.parse("cancel #42") == deploy.DeployCancel(42)


@pytest.mark.parametrize(("text", "complaint"), [
    ("lock api production --for 90 --reason x", "no unit"),
    ("lock api production --for 0s --reason x", "longer than zero"),
    ("metrics --days 0", "--days takes"),
    ("api to staging --color blue", "unknown option --color"),
    ("api to staging --reason", "--reason needs a value"),
    ("api to staging --strategy canary --strategy rolling", "given twice"),
    ("why api", "expected `/deploy why SERVICE ENV`"),
    ("api v1 v2 v3 production", "too many words"),
])
def test_deploy_mistakes_are_explained(text: str, complaint: str) -> None:
    with pytest.raises(BadInput, match=complaint):
        deploy.parse(text)


def test_rollback_forms() -> None:
    assert rollback.parse("") == rollback.RollbackModal()
    assert rollback.parse("api production") == rollback.RollbackRequest("api", "production")
    assert rollback.parse("api production to v1.4.1") == rollback.RollbackRequest("api", "production", to_ref="v1.4.1")
    assert rollback.parse('api production to #12 --reason "5xx up"') == rollback.RollbackRequest(
        "api", "production", to_release=12, reason="5xx up")
    with pytest.raises(BadInput, match="not a release id"):
        rollback.parse("api production to #twelve")


def test_oncall_forms() -> None:
    assert oncall.parse("") == oncall.OncallNow()
    assert oncall.parse("api-oncall") == oncall.OncallNow("api-oncall")
    assert oncall.parse("next") == oncall.OncallNext()
    assert oncall.parse("schedule api-oncall --weeks 8") == oncall.OncallSchedule("api-oncall", 8)
    assert oncall.parse("swap api-oncall <@U0BOB|bob> 2026-12-01") == oncall.OncallSwap(
        "api-oncall", "U0BOB", date(2026, 12, 1))
    assert oncall.parse("cover api-oncall 2026-12-01 2026-12-03") == oncall.OncallCover(
        "api-oncall", date(2026, 12, 1), date(2026, 12, 3))
    assert oncall.parse('page api-oncall "checkout is down"') == oncall.OncallPage("api-oncall", "checkout is down")
    assert oncall.parse("ack #7") == oncall.OncallAck(7)
    assert oncall.parse("resolve 7") == oncall.OncallResolve(7)
    assert oncall.parse("shadow-stats") == oncall.OncallShadowStats()
    assert oncall.parse("calendar api-oncall") == oncall.OncallCalendar("api-oncall")
    with pytest.raises(BadInput, match="before"):
        oncall.parse("away 2026-12-03 2026-12-01")
