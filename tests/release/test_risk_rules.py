"""The risk rules on generated changes (§4 "Risk"): expected levels, exact thresholds, monotonic.

Each generated change is judged twice: by `risk.assess`, and by the rule as the README states it
(`expected_level`, written out here independently). Adding anything that makes a rule fire never
lowers the level; a count exactly at its threshold does not fire, one more does; what the provider
could not say is "unknown", never a guess.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.config.gates import Approval, CiGreen
from bot.config.models import Environment
from bot.config.risk import CountRule, HoursRule, PathRule, RiskRules, SinceRule
from bot.release.models import Release
from bot.release.risk import ChangeFacts, assess, glob_matches, rank, within_hours
from bot.release.risk_controls import bake, controls_for, gates, stages

RULES = RiskRules(
    migrations=PathRule(globs=["**/migrations/**", "**/*.sql"], level="high"),
    commits=CountRule(medium=5, high=20),
    files=CountRule(medium=30),
    risky_paths=PathRule(globs=["auth/**", "deploy/*.yml"], level="medium"),
    since_last_release=SinceRule(medium=timedelta(days=7), high=timedelta(days=30), never="medium"),
    outside_hours=HoursRule(hours="Mon-Fri 09:00-18:00", timezone="Europe/Berlin", level="medium"),
    first_release_by_person="medium",
)
TUESDAY_NOON_BERLIN = datetime(2026, 11, 17, 11, tzinfo=UTC)  # 12:00 CET

SAFE = st.sampled_from(["src/app.py", "src/api/views.py", "README.md", "tests/test_app.py", "docs/index.md"])
MIGRATION = st.sampled_from(["db/migrations/0001_init.py", "schema.sql", "app/migrations/x/0002.py"])
RISKY = st.sampled_from(["auth/login.py", "auth/tokens/jwt.py", "deploy/prod.yml"])
INSTANTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC))


@st.composite
def changes(draw: st.DrawFn) -> ChangeFacts:
    files = draw(st.none() | st.lists(SAFE | MIGRATION | RISKY, max_size=40))
    return ChangeFacts(
        files=files,
        commits=draw(st.none() | st.integers(min_value=0, max_value=60)),
        since_last=draw(st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=90))),
        at=draw(INSTANTS),
        first_by_person=draw(st.booleans()),
    )


def expected_level(facts: ChangeFacts) -> str:
    """The rules as the README words them, one at a time; the level is the highest that fired."""
    levels = ["low"]
    files = facts.files
    if files is not None:
        if any("/migrations/" in f"/{f}" or f.endswith(".sql") for f in files):
            levels.append("high")
        if any(f.startswith("auth/") or (f.startswith("deploy/") and f.count("/") == 1 and f.endswith(".yml"))
               for f in files):
            levels.append("medium")
        if len(files) > 30:
            levels.append("medium")
    if facts.commits is not None:
        levels.append("high" if facts.commits > 20 else "medium" if facts.commits > 5 else "low")
    if facts.since_last is None:
        levels.append("medium")
    else:
        levels.append("high" if facts.since_last > timedelta(days=30) else
                      "medium" if facts.since_last > timedelta(days=7) else "low")
    local = facts.at.astimezone(ZoneInfo("Europe/Berlin"))
    if local.weekday() >= 5 or not (9 <= local.hour < 18):
        levels.append("medium")
    if facts.first_by_person:
        levels.append("medium")
    return max(levels, key=rank)


@given(changes())
def test_generated_changes_get_the_level_the_rules_state(facts: ChangeFacts) -> None:
    found = assess(RULES, facts)
    assert found.level == expected_level(facts)
    assert found.level == max([f.level for f in found.fired], key=rank, default="low")  # shown with what fired
    if facts.files is None:  # the provider could not say: unknown, not a guess
        assert set(found.unknown) - {"commits"} == {"migrations", "risky_paths", "files"}
        assert not {f.rule for f in found.fired} & {"migrations", "risky_paths", "files"}


@given(changes(), st.data())
def test_adding_what_makes_a_rule_fire_never_lowers_the_level(facts: ChangeFacts, data: st.DataObject) -> None:
    before = rank(assess(RULES, facts).level)
    worse = data.draw(st.sampled_from(["migration", "risky", "commits", "since", "first", "night"]))
    if worse == "migration":
        changed = replace(facts, files=[*(facts.files or []), data.draw(MIGRATION)])
    elif worse == "risky":
        changed = replace(facts, files=[*(facts.files or []), data.draw(RISKY)])
    elif worse == "commits":
        changed = replace(facts, commits=(facts.commits or 0) + data.draw(st.integers(1, 30)))
    elif worse == "since":
        changed = replace(facts, since_last=(facts.since_last or timedelta(0)) + timedelta(days=data.draw(
            st.integers(1, 60))))
    elif worse == "first":
        changed = replace(facts, first_by_person=True)
    else:
        changed = replace(facts, at=datetime(2026, 11, 21, 23, tzinfo=UTC))  # Saturday night in Berlin
    assert rank(assess(RULES, changed).level) >= before


def quiet(**changes: object) -> ChangeFacts:
    base = ChangeFacts(files=["src/app.py"], commits=1, since_last=timedelta(days=1), at=TUESDAY_NOON_BERLIN,
                       first_by_person=False)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_thresholds_are_exact() -> None:
    assert assess(RULES, quiet()).level == "low"
    assert assess(RULES, quiet(commits=5)).level == "low"
    assert assess(RULES, quiet(commits=6)).level == "medium"
    assert assess(RULES, quiet(commits=20)).level == "medium"
    assert assess(RULES, quiet(commits=21)).level == "high"
    assert assess(RULES, quiet(files=[f"src/f{i}.py" for i in range(30)])).level == "low"
    assert assess(RULES, quiet(files=[f"src/f{i}.py" for i in range(31)])).level == "medium"
    assert assess(RULES, quiet(since_last=timedelta(days=7))).level == "low"
    assert assess(RULES, quiet(since_last=timedelta(days=7, seconds=1))).level == "medium"
    assert assess(RULES, quiet(since_last=timedelta(days=30))).level == "medium"
    assert assess(RULES, quiet(since_last=timedelta(days=30, seconds=1))).level == "high"
    fired = assess(RULES, quiet(commits=21)).fired
    assert [(f.rule, f.level, f.text) for f in fired] == [("commits", "high", "21 commits (more than 20)")]


def test_working_hours_are_read_in_the_rules_zone_across_dst() -> None:
    rule = HoursRule(hours="Mon-Fri 09:00-18:00", timezone="Europe/Berlin")
    # Summer (CEST, UTC+2): 07:00 UTC is 09:00 in Berlin; winter (CET, UTC+1): 07:00 UTC is 08:00.
    assert within_hours(rule, datetime(2026, 7, 7, 7, tzinfo=UTC))
    assert not within_hours(rule, datetime(2026, 1, 6, 7, tzinfo=UTC))
    assert within_hours(rule, datetime(2026, 1, 6, 8, tzinfo=UTC))
    assert not within_hours(rule, datetime(2026, 1, 6, 17, tzinfo=UTC))  # 18:00 in Berlin: the end is excluded
    # The day after the spring change (Sunday 29 March 2026): Monday 07:30 UTC is 09:30 CEST.
    assert within_hours(rule, datetime(2026, 3, 30, 7, 30, tzinfo=UTC))
    assert not within_hours(rule, datetime(2026, 3, 28, 12, tzinfo=UTC))  # a Saturday
    wrapping = HoursRule(hours="Sun-Thu 08:00-17:00", timezone="Asia/Jerusalem")
    assert within_hours(wrapping, datetime(2026, 11, 15, 8, tzinfo=UTC))  # Sunday 10:00
    assert not within_hours(wrapping, datetime(2026, 11, 20, 8, tzinfo=UTC))  # Friday


def test_unknown_files_are_said_so_and_raise_nothing() -> None:
    found = assess(RULES, quiet(files=None, commits=None, unknown_why="the code host did not answer"))
    assert found.level == "low" and found.fired == []
    assert found.unknown == ["migrations", "risky_paths", "commits", "files"]
    assert found.unknown_text == ("unknown, so not counted: migrations, risky_paths, commits, files — the code host "
                                  "did not answer")
    assert assess(RULES, quiet()).unknown_text is None


def test_globs_keep_single_stars_within_a_directory() -> None:
    assert glob_matches("**/migrations/**", "migrations/0001.py")
    assert glob_matches("**/migrations/**", "a/b/migrations/x/0001.py")
    assert glob_matches("**/*.sql", "schema.sql") and glob_matches("**/*.sql", "db/x/schema.sql")
    assert glob_matches("deploy/*.yml", "deploy/prod.yml")
    assert not glob_matches("deploy/*.yml", "deploy/eu/prod.yml")
    assert not glob_matches("auth/**", "src/auth/x.py")


def test_a_level_adds_an_approval_gate_where_the_environment_has_none() -> None:
    env = Environment.model_validate({"gates": ["ci_green"], "bake": "5m", "risk": {
        "high": {"approvals": 2, "group": "@sre", "strategy": "canary", "stages": [25, 100], "bake": "20m"},
        "medium": {"bake": "1m"}}})
    high = controls_for(env, "high", "rolling")
    assert high == {"approvals": {"count": 2, "group": "@sre"}, "strategy": "canary", "stages": [25, 100],
                    "bake_seconds": 1200.0}
    assert controls_for(env, "medium", "rolling") == {}  # a shorter bake than the environment's asks nothing
    assert controls_for(env, "low", "rolling") == {}
    release = Release(service="api", environment="production", ref="v1", requested_by="U0ALICE",
                      detail={"controls": high}, created_at=TUESDAY_NOON_BERLIN, updated_at=TUESDAY_NOON_BERLIN)
    found = gates(list(env.gates), release)
    assert isinstance(found[0], CiGreen) and isinstance(found[1], Approval)
    assert (found[1].count, found[1].group) == (2, "@sre")
    assert stages(env, release) == [25, 100] and bake(env, release) == timedelta(minutes=20)
    plain = Release(service="api", environment="production", ref="v1", requested_by="U0ALICE", detail={},
                    created_at=TUESDAY_NOON_BERLIN, updated_at=TUESDAY_NOON_BERLIN)
    assert gates(list(env.gates), plain) == list(env.gates) and bake(env, plain) == timedelta(minutes=5)
