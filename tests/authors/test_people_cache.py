"""The email → Slack person cache's expiry, which authors count as bots, and the DM's words for a failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.authors import people
from bot.authors.commits import is_bot_author
from bot.authors.dm_text import DmFacts, local_time, render
from bot.authors.models import NoticeOutcome, ReleaseCommit
from bot.authors.notices import outcome_of
from bot.authors.people import Person
from bot.release.models import Release, ReleaseKind, ReleaseState
from bot.storage.database import Database

NOW = datetime(2026, 11, 18, 15, 0, tzinfo=UTC)


async def test_a_found_person_is_kept_a_day_and_a_miss_an_hour(db: Database) -> None:
    """On SQLite and on PostgreSQL (the `db` fixture), through migration 0020."""
    async with db.session() as session:
        await people.remember(session, "ada@acme.test", Person("U0ADA", "America/New_York"), now=NOW)
        await people.remember(session, "who@acme.test", None, now=NOW)
    async with db.session() as session:
        hit = await people.cached(session, "ada@acme.test", now=NOW + timedelta(hours=23))
        miss = await people.cached(session, "who@acme.test", now=NOW + timedelta(minutes=59))
        assert hit is not None and hit.person == Person("U0ADA", "America/New_York")
        assert miss is not None and miss.person is None  # remembered: Slack is not asked again yet
        assert await people.cached(session, "who@acme.test", now=NOW + timedelta(hours=1)) is None
        assert await people.cached(session, "ada@acme.test", now=NOW + timedelta(days=1)) is None
        assert await people.cached(session, "new@acme.test", now=NOW) is None
        assert await people.emails_of_user(session, "U0ADA") == ["ada@acme.test"]
    async with db.session() as session:  # asked again after expiry: the new answer replaces the old
        await people.remember(session, "who@acme.test", Person("U0WHO", None), now=NOW + timedelta(hours=2))
    async with db.session() as session:
        again = await people.cached(session, "who@acme.test", now=NOW + timedelta(hours=3))
        assert again is not None and again.person == Person("U0WHO", None)


@pytest.mark.parametrize(("name", "email", "bot"), [
    ("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com", True),
    ("Ada", "1234+ada@users.noreply.github.com", True),
    ("GitHub", "noreply@github.com", True),
    ("Release Bot", "no-reply@acme.test", True),
    ("renovate[bot]", None, True),
    ("Ada", "ada@acme.test", False),
    ("Noreen Plyer", "noreen.plyer@acme.test", False),
])
def test_bots_and_no_reply_addresses_are_not_told(name: str, email: str | None, bot: bool) -> None:
    assert is_bot_author(name, email) is bot


def release(**fields: object) -> Release:
    base: dict[str, object] = dict(id=7, service="api", environment="production", ref="v1.1", sha="b1" * 20,
                                   requested_by="U0ALICE", created_at=NOW, updated_at=NOW)
    return Release(**{**base, **fields})  # type: ignore[arg-type]


def test_which_outcomes_tell_the_authors() -> None:
    assert outcome_of(release(state=ReleaseState.SUCCEEDED)) == NoticeOutcome.LIVE
    assert outcome_of(release(state=ReleaseState.ROLLED_BACK)) == NoticeOutcome.ROLLED_BACK
    assert outcome_of(release(state=ReleaseState.FAILED, detected_at=NOW)) == NoticeOutcome.FAILED_VERIFICATION
    assert outcome_of(release(state=ReleaseState.FAILED)) is None  # a pipeline failure: nothing ran
    assert outcome_of(release(state=ReleaseState.BLOCKED)) is None
    assert outcome_of(release(state=ReleaseState.SUCCEEDED, kind=ReleaseKind.ROLLBACK)) is None
    # A rollback that is itself rolled back took out the deploy it had brought back: its authors hear of it.
    assert outcome_of(release(state=ReleaseState.ROLLED_BACK, kind=ReleaseKind.ROLLBACK)) == NoticeOutcome.ROLLED_BACK


def test_a_failed_verification_dm_says_what_failed_in_the_authors_zone() -> None:
    failed = release(state=ReleaseState.FAILED, detected_at=NOW, detail={"permalink": "https://x.test/p1"})
    commits = [ReleaseCommit(release_id=7, sha="c1" * 20, title="Cache lookups", author_name="Ada")]
    text, blocks = render(DmFacts(NoticeOutcome.FAILED_VERIFICATION, failed, commits, "Asia/Kolkata", [],
                                  "http https://api.test/healthz: answered 503, expected 200"))
    assert text.startswith(":x: Your change failed verification in *api production* at Wed 18 Nov 20:30 IST "
                           "(Asia/Kolkata) and does not run there.")
    assert "*What failed:* http https://api.test/healthz: answered 503" in text
    assert "<https://x.test/p1|release #7>" in text and blocks[0]["text"]["text"] == text  # type: ignore[index]
    assert local_time(NOW, "Not/AZone") == "Wed 18 Nov 15:00 UTC (UTC)"  # a zone Slack sent that we cannot read
    assert local_time(NOW, None) == "Wed 18 Nov 15:00 UTC (UTC)"
