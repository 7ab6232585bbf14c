"""`switchman console --script` runs the real app against the simulated Slack and prints a transcript."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.commands import deploy, oncall, rollback

SWITCHMAN = Path(sys.executable).with_name("switchman")
ROOT = Path(__file__).resolve().parents[2]


def run_console(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "script.txt"
    path.write_text(script)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no Slack tokens, no config: the example is used
    return subprocess.run([str(SWITCHMAN), "console", "--script", str(path), *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_three_usages_print_and_the_console_exits_zero(tmp_path: Path) -> None:
    result = run_console(tmp_path, "/deploy help\n/oncall help\n/rollback help\n")

    assert result.returncode == 0, result.stdout + result.stderr
    for usage in (deploy.USAGE, oncall.USAGE, rollback.USAGE):
        first_line = usage.splitlines()[0]
        assert first_line in result.stdout
    assert result.stdout.count("only visible to @alice") == 3
    assert (tmp_path / "switchman.db").exists()  # SQLite by default, in the working directory


def test_directives_switch_user_and_channel_and_mistakes_are_explained(tmp_path: Path) -> None:
    result = run_console(tmp_path, "/as @bob\n/in #api-oncall\n/oncall help\n/as @nobody\npress 99\nfrobnicate\n")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "(you are now @bob, America/Chicago)" in out
    assert "bob in #api-oncall> /oncall help" in out
    assert "── #api-oncall · only visible to @bob:" in out
    assert "nobody called '@nobody'" in out
    assert "there is no button '99' on screen" in out
    assert "'frobnicate' is neither a slash command" in out


def test_bad_command_input_says_what_was_wrong_and_where_the_usage_is(tmp_path: Path) -> None:
    result = run_console(tmp_path, "/deploy api\n/deploy api to prod\n")

    assert result.returncode == 0
    assert "needs an environment" in result.stdout
    assert "`api` has no environment `prod` — did you mean `production`?" in result.stdout
    assert result.stdout.count("`/deploy help` for the full usage.") == 2
    assert deploy.USAGE.splitlines()[1] not in result.stdout  # not the whole usage again


def test_the_deploy_form_is_filled_by_labels_and_buttons_show_no_style(tmp_path: Path) -> None:
    script = "/deploy\nfill 1 api/staging\nfill 1 api -> staging\nfill 2 v1.4.2\nsubmit\n"

    result = run_console(tmp_path, script, "--at", "2026-11-18T10:00Z")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Choose where to deploy ▾ (api → staging | api → production)" in out
    assert "?? input 1 has no choice 'api/staging'; its choices: api → staging | api → production" in out
    assert "(input 1 = 'api → staging')" in out
    assert "Release #1: api v1.4.2 → staging" in out
    assert "(primary)" not in out and "(danger)" not in out


def test_a_release_end_to_end_on_simulated_time_with_the_sandbox(tmp_path: Path) -> None:
    script = (ROOT / "docs" / "console-deploy-demo.txt").read_text()

    first = run_console(tmp_path, script, "--at", "2026-11-18T10:00Z")
    (tmp_path / "switchman.db").unlink()
    second = run_console(tmp_path, script, "--at", "2026-11-18T10:00Z")

    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout
    assert "*WAITING* — needs 1 more approval from @sre" in out
    assert "you requested release #2, so you cannot approve it" in out  # alice pressed Approve on her own
    assert ":thumbsup: @carol approved release #2" in out
    assert "Stage 3/3 (100%): pipeline run succeeded" in out
    assert "Release #2: api v1.4.2 → production — :white_check_mark: succeeded" in out
    # Simulated time moves only once the work has settled, and background work takes turns: the same
    # transcript every run, line for line, and the one the README shows.
    assert first.stdout == second.stdout
    assert_readme_shows(first.stdout, "docs/console-deploy-demo.txt")


def test_simulated_time_needs_a_zone(tmp_path: Path) -> None:
    result = run_console(tmp_path, "/deploy help\n", "--at", "2026-11-18T10:00")
    assert result.returncode == 2
    assert "has no time zone" in result.stderr


def test_on_call_in_the_console_who_schedule_page_and_ack(tmp_path: Path) -> None:
    script = (ROOT / "docs" / "console-oncall-demo.txt").read_text()

    result = run_console(tmp_path, script, "--at", "2026-11-18T10:00Z")

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "*api-oncall*: primary @ops1, shadow @dev1 — until Mon 23 Nov 10:00 CET" in out
    assert "Mon 23 Nov 10:00 CET → Mon 30 Nov 10:00 CET · primary @ops2, shadow @dev2" in out
    assert "── DM with @ops1" in out and "── DM with @dev1" in out  # the pair is paged
    assert "As the shadow your ack does not stop escalation; @ops1 still needs to ack." in out
    assert "you acknowledged page #1; escalation stopped." in out
    assert "acknowledged by @ops1" in out
    assert "@dev1: 0 shadow shift(s), 1 page(s) seen" in out
    assert "── DM with @ops1 · only visible to @dev1:" not in out  # a label press finds your own button
    assert_readme_shows(out, "docs/console-oncall-demo.txt")


def assert_readme_shows(transcript: str, script: str) -> None:
    """The README's transcript of `script` (from the line after its `…` on) is what the console printed."""
    readme = (ROOT / "README.md").read_text().splitlines()
    start = readme.index(f"$ .venv/bin/switchman console --script {script} --at 2026-11-18T10:00Z")
    assert readme[start + 1] == "…"
    shown = readme[start + 2:readme.index("```", start)]
    printed = transcript.splitlines()
    assert shown[0] in printed, f"the README's {script} transcript starts with a line the console did not print"
    assert printed[printed.index(shown[0]):] == shown, f"README's transcript of {script} is out of date"


def test_deploy_metrics_in_the_console_shows_figures_for_the_releases_just_made(tmp_path: Path) -> None:
    script = (ROOT / "docs" / "console-deploy-demo.txt").read_text() + "/deploy metrics api\n"

    result = run_console(tmp_path, script, "--at", "2026-11-18T10:00Z")

    assert result.returncode == 0, result.stdout + result.stderr
    answer = result.stdout[result.stdout.rindex("/deploy metrics api"):]
    assert "Delivery metrics: api production, last 90 days" in answer
    assert "1 successful deploy" in answer and "0 of 1 that reached rollout" in answer
    assert "@alice has 100% of 1 deploys" in answer and "@carol has 100% of 1 approvals" in answer
