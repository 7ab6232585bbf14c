"""The slash-command grammars: documented forms parse, anything else is a BadInput with usage."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import deploy, limits, oncall, rollback
from bot.errors import BadInput

NAME = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True).filter(
    lambda s: s not in deploy.SUBCOMMANDS and s != "to")
REF = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,9}(\.[A-Za-z0-9_-]{1,4}){0,2}(/[A-Za-z0-9][A-Za-z0-9_-]{0,9}){0,2}",
                    fullmatch=True).filter(lambda s: s != "to" and ".lock" not in s)
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
    ("lock api production --for 0s --reason x", "from 1s up to 365d"),
    ("lock api production --for 9999999999999999999999s --reason x", "too long a duration"),
    ("cancel 2147483648", "from 1 to 2147483647"),
    ("metrics --days ²", "--days takes"),
    (f"api {'a' * 256} to staging", "at most 255 bytes"),
    (f"api v1 to staging --reason {'x' * 501}", "at most 500 characters"),
    (f"{'a' * 65} v1 to staging", "service names are at most 64"),
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


# Words people type, and the words that overflow something: huge or non-ASCII numbers, long refs, far dates.
WORDS = st.one_of(
    st.sampled_from(deploy.SUBCOMMANDS + oncall.SUBCOMMANDS + ("to", "api", "staging", "api-oncall", "<@U0BOB>",
                                                               "--for", "--reason", "--days", "--weeks", "#")),
    st.integers(min_value=-5, max_value=10**25).map(lambda n: f"{n}"),
    st.integers(min_value=-5, max_value=10**25).map(lambda n: f"#{n}"),
    st.tuples(st.integers(min_value=0, max_value=10**25), st.sampled_from(["ms", "s", "h", "d", "w"])).map(
        lambda t: f"{t[0]}{t[1]}"),
    st.dates().map(date.isoformat),
    st.text(st.characters(categories=["Nd", "No"]), min_size=1, max_size=4),
    st.integers(min_value=240, max_value=1100).flatmap(lambda n: st.sampled_from(["a" * n, "é" * (n // 2)])),
    st.text(max_size=12),
)
COMMAND_TEXT = st.lists(WORDS, max_size=7).map(" ".join)


def assert_within_limits(parsed: object) -> None:
    """Every field of a parsed command is within §2's limits, whichever command it is."""
    for field in dataclasses.fields(parsed):  # type: ignore[arg-type]
        value = getattr(parsed, field.name)
        if value is None:
            continue
        match field.name:
            case "ref" | "to_ref":
                assert len(value.encode()) <= limits.MAX_REF_BYTES and value.split() == [value]
            case "reason":
                assert 0 < len(value) <= limits.MAX_REASON_CHARS
            case "message":
                assert 0 < len(value) <= limits.MAX_PAGE_MESSAGE_CHARS
            case "release_id" | "to_release" | "page_id":
                assert 1 <= value <= limits.MAX_ID
            case "duration":
                assert limits.MIN_DURATION <= value <= limits.MAX_DURATION
            case "days":
                assert 1 <= value <= deploy.MAX_METRICS_DAYS
            case "weeks":
                assert 1 <= value <= oncall.MAX_WEEKS
            case "day" | "start" | "end":
                assert limits.FIRST_DATE <= value <= limits.LAST_DATE
            case "service" | "environment" | "rotation":
                assert 0 < len(value) <= limits.MAX_NAME_CHARS
    if hasattr(parsed, "start") and hasattr(parsed, "end"):
        assert 0 <= (parsed.end - parsed.start).days < limits.MAX_SPAN_DAYS


def parses_within_the_limits_or_is_a_bad_input(text: str) -> None:
    for grammar in (deploy, rollback, oncall):
        try:
            parsed = grammar.parse(text)
        except BadInput as exc:
            assert exc.usage == grammar.USAGE and exc.message
        else:
            assert_within_limits(parsed)


@given(COMMAND_TEXT)
def test_any_command_text_parses_within_the_limits_or_is_a_bad_input(text: str) -> None:
    parses_within_the_limits_or_is_a_bad_input(text)


@given(st.sampled_from(["cancel", "lock api staging --reason x --for", "metrics --days", "ack", "resolve",
                        "schedule api-oncall --weeks", "api staging to", "api", "away 2026-01-01",
                        'page api-oncall']), COMMAND_TEXT)
def test_any_argument_of_a_sub_command_parses_within_the_limits_or_is_a_bad_input(head: str, rest: str) -> None:
    parses_within_the_limits_or_is_a_bad_input(f"{head} {rest}")


@pytest.mark.parametrize(("grammar", "text"), [(deploy, "a" * 3000), (deploy, "api " + "v " * 2000 + "x"),
                                               (oncall, "é" * 3000 + " x")])
def test_a_refusal_quotes_a_huge_input_cut_short(grammar: ModuleType, text: str) -> None:
    # The reply used to quote the whole text back, thousands of characters (found by tests/fuzz).
    with pytest.raises(BadInput) as refused:
        grammar.parse(text)
    assert len(refused.value.message) < 200


def test_an_empty_quoted_word_is_not_a_name() -> None:
    for grammar, text in ((deploy, '"" staging'), (rollback, 'api ""'), (oncall, 'schedule ""')):
        with pytest.raises(BadInput, match="name cannot be empty"):
            grammar.parse(text)


@pytest.mark.parametrize(("grammar", "text"), [(oncall, 'page api-oncall "disk\x00full"'),
                                               (deploy, 'lock api staging --reason "a\x00b"'),
                                               (rollback, 'api staging --reason "x\x00"'), (oncall, "api\x00")])
def test_a_nul_character_is_refused(grammar: ModuleType, text: str) -> None:
    # Found by tests/fuzz on PostgreSQL, whose text refuses NUL: the page or lock failed with an apology.
    with pytest.raises(BadInput, match="NUL character"):
        grammar.parse(text)
