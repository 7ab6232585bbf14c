"""The first hour in the console (issue 16): the first screen, a typo, `/alert fire` rolling a release back,
a `breach` ref doing the same, and the README transcript that `readme_transcripts` regenerates from it.

The interrupted wait needs real time and a real SIGINT: `test_console_interrupt.py`.
"""

from __future__ import annotations

from pathlib import Path

from bot.console import readme_transcripts
from tests.console.test_console_script import ROOT, run_console

AT = "2026-11-18T10:00Z"
DEMO = "docs/console-rollback-demo.txt"
FIRST_RELEASE = """/deploy api v1.4.2 to staging
/deploy api v1.4.2 to production --reason "weekly release"
/as @carol
press Approve
/wait 31m
/as @alice
"""


def test_the_first_screen_lists_services_rotations_people_groups_and_things_to_try(tmp_path: Path) -> None:
    result = run_console(tmp_path, "/who\n")

    assert result.returncode == 0, result.stdout + result.stderr
    screen = result.stdout[:result.stdout.index("alice in #api-releases> /who")].splitlines()
    assert screen[0] == "Switchman console — you are @alice (Europe/Berlin), typing in #api-releases."
    assert "  api (#api-releases, provider sandbox): staging, production" in screen
    assert ("  api-oncall (#api-oncall, Europe/Berlin): primaries @ops1 @ops2; shadows @dev1 @dev2 @dev3; "
            "pages for api") in screen
    assert "People: @alice @bob @carol @dave @ops1 @ops2 @dev1 @dev2 @dev3 @lead" in screen
    assert "  @sre: @carol, @bob" in screen and "  @api-devs: @alice, @bob, @dave" in screen
    tries = screen[screen.index("Try:") + 1:screen.index("Try:") + 4]
    assert [t.split("   ")[0].strip() for t in tries] == [
        "/deploy api v1.4.2 to staging", "/oncall api-oncall", '/alert fire api "error ratio high"']
    who = result.stdout[result.stdout.index("/who"):]
    assert "  @bob        U0BOB        America/Chicago  @api-devs, @sre" in who
    assert "  @ops1       U01OPS1      Europe/Berlin    (no groups)" in who


def test_the_rollback_demo_fires_an_alert_pages_the_pair_and_rolls_back(tmp_path: Path) -> None:
    script = (ROOT / DEMO).read_text()

    first = run_console(tmp_path, script, "--at", AT)
    (tmp_path / "switchman.db").unlink()
    second = run_console(tmp_path, script, "--at", AT)

    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "Switchman console — you are @alice" in out.splitlines()[0]  # the first screen comes first
    typo = out[out.index("> /deploy api to prod\n"):out.index("> /deploy api v1.4.2 to staging")]
    assert "── #api-releases · only visible to @alice:" in typo and "production" in typo  # answered, nothing started
    assert "Release #" not in typo
    fired = out[out.index('> /alert fire api "error ratio high"'):]
    assert fired.startswith('> /alert fire api "error ratio high"\n(Alertmanager → POST /webhooks/alertmanager: '
                            "ErrorRatioHigh firing for api; routed to rotation:api-oncall; page #1 opened)")
    assert "── DM with @ops1" in fired and "── DM with @dev1" in fired  # the on-call pair is paged
    assert ":x: *alertmanager* — fail · 0.0s\n    1 alert(s) firing for api: ErrorRatioHigh" in fired
    assert "Rollback #5: api v1.4.2 → production" in fired and "On call: @ops1 and @dev1" in fired
    assert "Release #4: api v1.5.0 → production — :leftwards_arrow_with_hook: rolled back" in fired
    assert "Rollback #5: api v1.4.2 → production — :white_check_mark: succeeded" in fired
    assert "ErrorRatioHigh resolved for api; routed to rotation:api-oncall; page #1 resolved" in fired
    assert first.stdout == second.stdout  # the same every run: the README shows it
    readme = (ROOT / "README.md").read_text()
    assert readme_transcripts.update(readme, {(DEMO, AT): out}) == readme, (
        "README's transcript of the rollback demo is out of date: run python -m bot.console.readme_transcripts")


def test_a_typo_in_the_environment_gets_a_suggestion(tmp_path: Path) -> None:
    result = run_console(tmp_path, "/deploy api to prod\n")

    assert result.returncode == 0, result.stdout + result.stderr
    assert any("did you mean" in line and "production" in line for line in result.stdout.splitlines())


def test_a_breach_ref_fails_verification_and_is_rolled_back_without_an_alert(tmp_path: Path) -> None:
    script = FIRST_RELEASE + """/deploy api v1.5.0-breach to staging
/deploy api v1.5.0-breach to production
/as @carol
press Approve
/wait 10m
/deploy history api production
"""
    result = run_console(tmp_path, script, "--at", AT)

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout[result.stdout.index("/deploy api v1.5.0-breach to production"):]
    assert "Alertmanager" not in out.split("/wait 10m")[0]  # nothing fired
    verdict = out[out.index(":x: *sandbox health* — fail"):]
    assert " ".join(verdict.split()).startswith(
        ":x: *sandbox health* — fail · 0.0s error ratio 7.3% at 10% of traffic, over the 1% limit "
        "(sandbox: `v1.5.0-breach` breaches verification)")
    assert ":white_check_mark: *alertmanager* — pass" in out  # no alert: the provider's own check failed it
    assert "Rollback #5: api v1.4.2 → production — :white_check_mark: succeeded" in out
    history = " ".join(out[out.index("> /deploy history api production"):].split())
    assert "`v1.5.0-breach` → production by @alice — :leftwards_arrow_with_hook: rolled back" in history


def test_alert_mistakes_are_explained_and_send_nothing(tmp_path: Path) -> None:
    result = run_console(tmp_path, '/alert\n/alert fire web "x"\n/alert fire api\n/alert resolve api\n'
                                   '/alert fire api "unclosed\n')

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "?? /alert needs `fire` or `resolve`. usage: /alert fire SERVICE" in out
    assert "?? no service `web`; services: api." in out
    assert '?? /alert fire api needs a summary in quotes, e.g. "error ratio high".' in out
    assert "?? no alert fired from the console is firing for api" in out
    assert "No closing quotation" in out
    assert "POST /webhooks/alertmanager" not in out and "Page #" not in out
