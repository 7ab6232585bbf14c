"""The 12-week trend of the four keys, computed week by week through `metrics.compute`, and its PNG."""

from __future__ import annotations

import io
from datetime import timedelta
from itertools import pairwise

import pytest
from PIL import Image

from bot.evidence.chart import BACKGROUND, SIZE_PX, render_trend
from bot.evidence.trend import TREND_WEEKS, Trend, week_windows, weekly_trend
from bot.evidence.windows import Target
from bot.storage.database import Database
from tests.evidence.history_builder import History, at

API = (Target("api", "production"),)
NOW = at(7, "12:00")  # weeks end on Mondays 12:00 UTC; the last one is (Nov 30 12:00, Dec 7 12:00]


async def write_weeks(db: Database) -> None:
    h = History(db)
    # Last week: two deploys, 1 h and 3 h request → production; the second then fails and is rolled
    # back 30 min after detection → deploys 2/week, lead median 2 h, CFR 1 of 2, restore 0.5 h.
    good = await h.release(by="U0ALICE", created=at(1, "09:00"), started=at(1, "09:00"), finished=at(1, "10:00"),
                           verified=at(1, "10:00"), state="succeeded")
    await h.decisions(good, ("GO", at(1, "09:10")))
    bad = await h.release(by="U0BOB", created=at(2, "09:00"), started=at(2, "09:00"), finished=at(2, "12:30"),
                          verified=at(2, "12:00"), detected=at(2, "12:10"), rolled_back=at(2, "12:40"),
                          state="rolled_back")
    await h.decisions(bad, ("GO", at(2, "09:05")))
    await h.rollback(bad, by="U0BOB", when=at(2, "12:10"), done=at(2, "12:40"))
    # Three weeks earlier (Nov 9 12:00 – Nov 16 12:00): one deploy, 30 min, no failure.
    old = await h.release(by="U0ALICE", created=at(10, "08:00", 11), started=at(10, "08:00", 11),
                          finished=at(10, "08:30", 11), verified=at(10, "08:30", 11), state="succeeded")
    await h.decisions(old, ("GO", at(10, "08:05", 11)))


@pytest.mark.postgres
async def test_each_week_has_the_figures_of_its_own_seven_days(db: Database) -> None:
    await write_weeks(db)
    async with db.session() as session:
        trend = await weekly_trend(session, targets=API, end=NOW)

    assert len(trend.weeks) == TREND_WEEKS
    assert [w.window for w in trend.weeks] == week_windows(NOW)
    assert trend.weeks[-1].window.end == NOW and trend.weeks[0].window.start == NOW - timedelta(weeks=12)
    last = trend.weeks[-1]
    assert (last.deploys, last.deploys_per_week, last.lead_time_hours) == (2, 2.0, 2.0)
    assert (last.change_failure_rate, last.time_to_restore_hours) == (0.5, 0.5)
    nov = trend.weeks[-4]
    assert (nov.deploys, nov.deploys_per_week, nov.lead_time_hours, nov.change_failure_rate) == (1, 1.0, 0.5, 0.0)
    empty = trend.weeks[0]
    assert (empty.deploys, empty.deploys_per_week, empty.lead_time_hours, empty.change_failure_rate,
            empty.time_to_restore_hours) == (0, 0.0, None, None, None)


def png_of(trend: Trend) -> Image.Image:
    image = Image.open(io.BytesIO(render_trend(trend, title="api in production, 12 weeks")))
    image.load()
    return image.convert("RGB")


async def test_the_chart_is_a_png_of_the_expected_size_with_something_drawn(db: Database) -> None:
    await write_weeks(db)
    async with db.session() as session:
        trend = await weekly_trend(session, targets=API, end=NOW)
    image = png_of(trend)

    assert image.size == SIZE_PX == (800, 450)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20  # text, bars, lines, grid: not a flat picture
    background = Image.new("RGB", (1, 1), BACKGROUND).getpixel((0, 0))
    # The deploy-frequency panel (top left): its bars make plenty of non-background pixels.
    panel = image.crop((60, 60, 390, 220))
    counts = panel.getcolors(maxcolors=1 << 20)
    assert counts is not None
    drawn = sum(n for n, colour in counts if colour != background)
    assert drawn > 0.05 * panel.width * panel.height


def test_weeks_are_half_open_and_need_an_aware_end() -> None:
    windows = week_windows(NOW, 3)
    assert [w.end - w.start for w in windows] == [timedelta(days=7)] * 3
    assert all(a.end == b.start for a, b in pairwise(windows))
    with pytest.raises(ValueError, match="timezone-aware"):
        week_windows(NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="at least one week"):
        week_windows(NOW, 0)
