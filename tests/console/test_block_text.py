"""Tests for the console's Block Kit -> terminal text rendering (bot.console.block_text)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.console.block_text import (
    Numbering,
    render_blocks,
    render_mrkdwn,
    render_view,
)

NAMES = {"U1ALICE": "alice", "U2BOB": "bob"}


def resolve(user_id: str) -> str:
    return NAMES.get(user_id, user_id)


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def option(label: str, value: str) -> dict[str, Any]:
    return {"text": plain(label), "value": value}


def button(action_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": plain(text), **extra}


RELEASE_PARENT: list[dict[str, Any]] = [
    {"type": "header", "text": plain("Release api v1.4.2 → production")},
    {
        "type": "section",
        "block_id": "summary",
        "text": mrkdwn(
            "*api* `v1.4.2` is waiting for approval. "
            "<https://github.com/acme/api/compare/v1.4.1...v1.4.2|Changes since v1.4.1>"
        ),
    },
    {
        "type": "section",
        "fields": [
            mrkdwn("*Service*\napi"),
            mrkdwn("*Version*\nv1.4.2"),
            mrkdwn("*Environment*\nproduction"),
            mrkdwn("*Requested by*\n<@U1ALICE>"),
        ],
    },
    {
        "type": "context",
        "elements": [
            mrkdwn("Release #42"),
            mrkdwn("gates: CI passed, freeze clear"),
            mrkdwn("on-call <@U2BOB>"),
        ],
    },
    {"type": "divider"},
    {
        "type": "actions",
        "block_id": "release:42",
        "elements": [
            button("release_approve", "Approve", style="primary", value="42"),
            button("release_reject", "Reject", style="danger", value="42"),
            button("release_override", "Override", value="42"),
        ],
    },
]

RELEASE_PARENT_TEXT = """\
Release api v1.4.2 → production
═══════════════════════════════
*api* `v1.4.2` is waiting for approval. Changes since v1.4.1
(https://github.com/acme/api/compare/v1.4.1...v1.4.2)
*Service*        *Version*
api              v1.4.2
*Environment*    *Requested by*
production       @alice
  · Release #42 · gates: CI passed, freeze clear · on-call @bob
────────────────────────────────────────────────────────────────────────────────
[1] Approve  [2] Reject  [3] Override"""


def test_release_parent_message_renders_readably() -> None:
    numbering = Numbering()
    rendered = render_blocks(RELEASE_PARENT, numbering=numbering, user_name=resolve, width=80)

    assert rendered.text == RELEASE_PARENT_TEXT
    assert [i.action_id for i in rendered.interactives] == [
        "release_approve",
        "release_reject",
        "release_override",
    ]
    approve, reject, override = rendered.interactives
    assert (approve.number, approve.kind, approve.label, approve.value, approve.style) == (
        1,
        "button",
        "Approve",
        "42",
        "primary",
    )
    assert approve.block_id == "release:42"
    assert reject.style == "danger" and override.style is None
    assert numbering.get(2) == reject
    assert numbering.get(99) is None
    assert rendered.inputs == []


def test_numbering_continues_across_renders() -> None:
    numbering = Numbering()
    first = render_blocks(RELEASE_PARENT, numbering=numbering)
    second = render_blocks(RELEASE_PARENT, numbering=numbering)

    assert [i.number for i in first.interactives] == [1, 2, 3]
    assert [i.number for i in second.interactives] == [4, 5, 6]
    assert second.lines[-1] == "[4] Approve  [5] Reject  [6] Override"
    assert numbering.get(1) == first.interactives[0]
    assert numbering.get(6) == second.interactives[2]
    assert numbering.next() == 7


OVERRIDE_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "release_override",
    "title": plain("Override release"),
    "submit": plain("Override"),
    "close": plain("Cancel"),
    "blocks": [
        {"type": "section", "text": mrkdwn("Overriding gates for *api v1.4.2* requested by <@U1ALICE>.")},
        {
            "type": "input",
            "block_id": "reason",
            "label": plain("Reason"),
            "hint": plain("Posted in the release thread."),
            "element": {
                "type": "plain_text_input",
                "action_id": "reason_text",
                "multiline": True,
                "placeholder": plain("Why is this safe?"),
            },
        },
        {
            "type": "input",
            "block_id": "ticket",
            "optional": True,
            "label": plain("Incident ticket"),
            "element": {"type": "plain_text_input", "action_id": "ticket_text", "initial_value": "INC-7"},
        },
        {
            "type": "input",
            "block_id": "env",
            "label": plain("Environment"),
            "element": {
                "type": "static_select",
                "action_id": "env_choice",
                "placeholder": plain("Choose environment"),
                "options": [option("staging", "stg"), option("production", "prod")],
            },
        },
    ],
}


def test_modal_lists_inputs_to_fill() -> None:
    numbering = Numbering()
    render_blocks(RELEASE_PARENT, numbering=numbering)  # numbers 1-3 already taken
    rendered = render_view(OVERRIDE_MODAL, numbering=numbering, user_name=resolve, width=80)

    top, bottom = rendered.lines[0], rendered.lines[-1]
    assert top.startswith("╭─ Override release ") and top.endswith(" close: Cancel · submit: Override ─╮")
    assert len(top) == 80 and bottom == "╰" + "─" * 78 + "╯"
    assert rendered.lines[1:-1] == [
        "Overriding gates for *api v1.4.2* requested by @alice.",
        "(input 4: reason/reason_text — Reason)",
        "    Why is this safe? (text, multiline)",
        "    · Posted in the release thread.",
        "(input 5: ticket/ticket_text — Incident ticket) (optional)",
        "    text (text) = 'INC-7'",
        "(input 6: env/env_choice — Environment)",
        "    Choose environment ▾ (staging | production)",
    ]
    assert rendered.interactives == []
    reason, ticket, env = rendered.inputs
    assert (reason.number, reason.block_id, reason.action_id, reason.kind) == (
        4,
        "reason",
        "reason_text",
        "plain_text_input",
    )
    assert not reason.optional and ticket.optional and ticket.initial == "INC-7"
    assert env.kind == "static_select" and env.label == "Environment"
    assert env.options == (("staging", "stg"), ("production", "prod"))
    assert numbering.get_input(6) == env and numbering.get(6) is None


def test_app_home_title_and_interactive_blocks() -> None:
    home = {
        "type": "home",
        "blocks": [
            {
                "type": "section",
                "text": mrkdwn("You are on call until Friday."),
                "accessory": button("swap_shift", "Swap shift"),
            }
        ],
    }
    rendered = render_view(home, numbering=Numbering(), width=60)
    assert rendered.lines[0] == "╭─ App Home " + "─" * 47 + "╮"
    assert len(rendered.lines[0]) == len(rendered.lines[-1]) == 60
    assert rendered.lines[1] == "You are on call until Friday.   [1] Swap shift"
    assert rendered.interactives[0].action_id == "swap_shift"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("hi <@U1ALICE>", "hi @alice"),
        ("<@U9NOBODY|legacy>", "@legacy"),
        ("<@U9NOBODY>", "@U9NOBODY"),
        ("see <#C123|deploys> and <#C999>", "see #deploys and #C999"),
        ("<https://example.com/a?b=1&amp;c=2|the docs>", "the docs (https://example.com/a?b=1&c=2)"),
        ("<https://example.com>", "https://example.com"),
        ("<mailto:ops@example.com|ops@example.com>", "ops@example.com"),
        ("<!here> <!channel> <!everyone>", "@here @channel @everyone"),
        ("<!subteam^S1|@sre> look", "@sre look"),
        ("<!date^1392734382^{date}|Feb 18th>", "18 February 2014"),  # in the viewer's zone: UTC by default
        ("<!date^1392734382^{date} at {time}|Feb 18th>", "18 February 2014 at 14:39 UTC"),
        ("<!date^notanumber^{date}|Feb 18th>", "Feb 18th"),  # unreadable: the fallback
        ("*bold* _it_ ~gone~ `x <y>`", "*bold* _it_ ~gone~ `x <y>`"),
        ("a &lt;b&gt; &amp;amp;", "a <b> &amp;"),
        ("Run:\n```\nmake deploy\n  --env prod\n```\ndone", "Run:\n    make deploy\n      --env prod\ndone"),
        ("inline ```x &lt; y``` after", "inline\n    x < y\nafter"),
        ("`<@U1ALICE>` stays code", "`<@U1ALICE>` stays code"),
        ("", ""),
    ],
)
def test_render_mrkdwn(source: str, expected: str) -> None:
    assert render_mrkdwn(source, user_name=resolve) == expected


def test_wrapping_never_breaks_urls() -> None:
    url = "https://ci.example.com/acme/api/pipelines/123456/jobs/7890?attempt=2&retry-on-failure=true"
    runbook = "https://runbooks.example.com/api-deploy-failure-smoke-tests"
    text = (
        "The deploy of *api* to production failed during the smoke tests; see "
        f"<{url}|the pipeline> and the runbook at {runbook} "
        "before retrying, and page <@U2BOB> if it fails twice."
    )
    rendered = render_blocks(
        [{"type": "section", "text": mrkdwn(text)}], numbering=Numbering(), user_name=resolve, width=40
    )
    urls = [url, runbook]
    for expected in urls:
        assert any(expected in line for line in rendered.lines), expected
    for line in rendered.lines:
        if not any(u in line for u in urls):
            assert len(line) <= 40, line
    assert " ".join(rendered.lines).count("https://") == 2


def test_actions_wrap_between_elements() -> None:
    elements = [button(f"b{i}", f"Button number {i}") for i in range(6)]
    rendered = render_blocks([{"type": "actions", "elements": elements}], numbering=Numbering(), width=50)
    assert rendered.lines == [
        "[1] Button number 0  [2] Button number 1",
        "[3] Button number 2  [4] Button number 3",
        "[5] Button number 4  [6] Button number 5",
    ]


def test_number_tags_stay_with_their_labels_when_wrapping() -> None:
    block = {"type": "section", "accessory": button("b", "A rather long button label")}
    rendered = render_blocks([block], numbering=Numbering(), width=10)  # clamped to 20
    assert rendered.lines == ["  [1] A rather long", "  button label"]


def test_unknown_and_malformed_blocks_do_not_crash() -> None:
    blocks: list[Any] = [
        {"type": "carousel"},
        {"no_type": True},
        "not a block",
        {"type": "actions", "elements": [{"type": "hologram"}, button("ok", "OK")]},
        {"type": "section", "text": 42, "fields": "nope", "accessory": ["x"]},
    ]
    rendered = render_blocks(blocks, numbering=Numbering())
    assert rendered.lines[:3] == [
        "[unsupported block: carousel]",
        "[unsupported block: ?]",
        "[unsupported block: ?]",
    ]
    assert rendered.lines[3] == "[unsupported element: hologram]  [1] OK"
    assert [i.action_id for i in rendered.interactives] == ["ok"]


def test_fallback_text_only_when_there_are_no_blocks() -> None:
    numbering = Numbering()
    assert render_blocks([], numbering=numbering, fallback_text="Release <@U1ALICE> done").lines == [
        "Release @U1ALICE done"
    ]
    assert render_blocks([], numbering=numbering).lines == []
    with_blocks = render_blocks([{"type": "divider"}], numbering=numbering, fallback_text="ignored", width=20)
    assert with_blocks.lines == ["─" * 20]


def test_selects_pickers_and_option_lists() -> None:
    many = [option(f"svc{i}", f"v{i}") for i in range(12)]
    elements = [
        {"type": "users_select", "action_id": "who", "initial_user": "U1ALICE"},
        {"type": "multi_static_select", "action_id": "svcs", "options": many},
        {
            "type": "overflow",
            "action_id": "more",
            "options": [option("Logs", "logs"), option("Retry", "retry")],
        },
        {"type": "datepicker", "action_id": "when", "initial_date": "2024-05-01"},
        {
            "type": "checkboxes",
            "action_id": "ack",
            "options": [option("Tests", "t"), option("Docs", "d")],
            "initial_options": [option("Docs", "d")],
        },
        button("logs", "Logs", url="https://logs.example.com/x"),
    ]
    rendered = render_blocks(
        [{"type": "actions", "elements": elements}], numbering=Numbering(), user_name=resolve, width=200
    )
    line = " ".join(rendered.lines)
    assert "[1] Select a user ▾ = @alice (any user)" in line
    assert "[2] Select an option ▾ (svc0 | svc1" in line and "svc9 | … +2 more) [multiple]" in line
    assert "[3] ⋯ (Logs | Retry)" in line
    assert "[4] Select a date (date, now 2024-05-01)" in line
    assert "[5] [ ] Tests [x] Docs" in line
    assert "[6] Logs -> https://logs.example.com/x" in line
    kinds = [(i.kind, len(i.options)) for i in rendered.interactives]
    assert kinds == [
        ("users_select", 0),
        ("multi_static_select", 12),
        ("overflow", 2),
        ("datepicker", 0),
        ("checkboxes", 2),
        ("button", 0),
    ]
    assert rendered.interactives[5].url == "https://logs.example.com/x"


def test_other_block_types() -> None:
    blocks: list[dict[str, Any]] = [
        {
            "type": "image",
            "image_url": "https://x/y.png",
            "alt_text": "deploy graph",
            "title": plain("Latency"),
        },
        {"type": "video", "title": plain("Demo"), "video_url": "https://v/1", "alt_text": "demo"},
        {"type": "file", "external_id": "ABC", "source": "remote"},
        {"type": "markdown", "text": "**Done** see [docs](https://d/x)\n```\ncode\n```"},
        {"type": "input", "label": plain("Note"), "element": {"type": "plain_text_input", "action_id": "n"}},
        {"type": "context", "elements": [{"type": "image", "alt_text": "avatar"}, plain("by bob")]},
    ]
    rendered = render_blocks(blocks, numbering=Numbering())
    assert rendered.lines == [
        "[image: deploy graph] Latency",
        "[video: Demo] https://v/1",
        "[file: ABC]",
        "**Done** see docs (https://d/x)",
        "    code",
        "Note (input: n)",
        "    text (text)",
        "  · [image: avatar] · by bob",
    ]
    assert rendered.interactives == [] and rendered.inputs == []


def test_rich_text_best_effort() -> None:
    block = {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [
                    {"type": "text", "text": "Shipped "},
                    {"type": "text", "text": "api", "style": {"bold": True}},
                    {"type": "text", "text": " for "},
                    {"type": "user", "user_id": "U1ALICE"},
                    {"type": "text", "text": " in "},
                    {"type": "channel", "channel_id": "C1"},
                    {"type": "emoji", "name": "rocket"},
                    {"type": "link", "url": "https://x.example", "text": "notes"},
                ],
            },
            {
                "type": "rich_text_list",
                "style": "ordered",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "migrate"}]},
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "deploy"}]},
                ],
            },
            {
                "type": "rich_text_list",
                "style": "bullet",
                "indent": 1,
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": "nested"}]},
                ],
            },
            {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "make ship"}]},
            {"type": "rich_text_quote", "elements": [{"type": "text", "text": "ship it"}]},
        ],
    }
    rendered = render_blocks([block], numbering=Numbering(), user_name=resolve)
    assert rendered.lines == [
        "Shipped *api* for @alice in #C1:rocket:notes (https://x.example)",
        "1. migrate",
        "2. deploy",
        "  • nested",
        "    make ship",
        "> ship it",
    ]


def test_ansi_is_opt_in() -> None:
    blocks = [RELEASE_PARENT[0], RELEASE_PARENT[3]]
    assert not any("\x1b" in line for line in render_blocks(blocks, numbering=Numbering()).lines)
    coloured = render_blocks(blocks, numbering=Numbering(), ansi=True).lines
    assert coloured[0] == "\x1b[1mRelease api v1.4.2 → production\x1b[0m"
    assert coloured[2].startswith("\x1b[2m  · ")


def test_fields_fall_back_to_one_column_when_too_wide() -> None:
    fields = [mrkdwn("*Left*\n" + "l" * 30), mrkdwn("*Right*\n" + "r" * 30)]
    rendered = render_blocks([{"type": "section", "fields": fields}], numbering=Numbering(), width=40)
    assert rendered.lines == ["*Left*", "l" * 30, "*Right*", "r" * 30]


# ---------------------------------------------------------------- property tests

BLOCK_TYPES = ["header", "section", "divider", "context", "actions", "input", "image", "rich_text"]
BLOCK_TYPES += ["markdown", "video", "file", "call", "mystery"]
ELEMENT_TYPES = [
    "button", "static_select", "multi_static_select", "users_select", "multi_users_select",
    "conversations_select", "channels_select", "external_select", "overflow", "datepicker",
    "timepicker", "datetimepicker", "checkboxes", "radio_buttons", "plain_text_input",
    "number_input", "image", "workflow_button", "mystery_element",
]  # fmt: skip
RICH_TYPES = ["rich_text_section", "rich_text_list", "rich_text_preformatted", "rich_text_quote"]
INLINE_TYPES = ["text", "link", "user", "channel", "emoji", "date", "broadcast", "usergroup", "team"]
KEYS = [
    "type", "text", "elements", "fields", "accessory", "element", "label", "options", "block_id",
    "action_id", "value", "url", "style", "alt_text", "title", "indent", "offset", "user_id",
    "initial_user", "initial_date", "multiline", "name", "channel_id", "fallback", "timestamp",
]  # fmt: skip

texts = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("<>@#!|`*&;\n "), max_size=20)
leaves = st.none() | st.booleans() | st.integers() | st.floats() | texts
# Arbitrary JSON-ish junk, with keys Block Kit uses so that it lands on real code paths.
junk = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=3), children, max_size=4)
    ),
    max_leaves=12,
)


def _obj(kinds: list[str], **optional: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with a `type` from kinds and any subset of the optional keys; half of them have junk values."""
    kind = {"type": st.sampled_from(kinds)}
    broken = {key: value | junk for key, value in optional.items()}
    return st.fixed_dictionaries(kind, optional=optional) | st.fixed_dictionaries(kind, optional=broken)


text_obj = _obj(["plain_text", "mrkdwn"], text=texts)
option_obj = st.fixed_dictionaries({}, optional={"text": text_obj | junk, "value": texts | junk})
options = st.lists(option_obj | junk, max_size=4)
element = _obj(
    ELEMENT_TYPES,
    action_id=texts,
    text=text_obj,
    placeholder=text_obj,
    options=options,
    option_groups=st.lists(st.fixed_dictionaries({"options": options}), max_size=2),
    initial_option=option_obj,
    initial_options=options,
    initial_user=texts,
    initial_users=st.lists(texts, max_size=2),
    initial_date=texts,
    initial_date_time=st.integers(),
    initial_value=texts,
    url=texts,
    style=st.sampled_from(["primary", "danger"]),
    value=texts,
    confirm=st.just({"title": {"type": "plain_text", "text": "Sure?"}}),
    alt_text=texts,
    multiline=st.booleans(),
)
inline = _obj(
    INLINE_TYPES,
    text=texts,
    url=texts,
    user_id=texts,
    channel_id=texts,
    name=texts,
    style=st.fixed_dictionaries({}, optional={"bold": st.booleans(), "code": st.booleans()}),
    timestamp=st.integers(),
)
section_obj = _obj(RICH_TYPES, elements=st.lists(inline | junk, max_size=4))
rich = _obj(
    RICH_TYPES,
    elements=st.lists(inline | section_obj, max_size=4),
    indent=st.integers(),
    offset=st.integers(),
)
block = _obj(
    BLOCK_TYPES,
    block_id=texts,
    text=text_obj | texts,
    fields=st.lists(text_obj, max_size=5),
    accessory=element,
    elements=st.lists(element | text_obj | rich, max_size=5),
    element=element,
    label=text_obj,
    hint=text_obj,
    optional=st.booleans(),
    alt_text=texts,
    title=text_obj,
)
blocks_strategy = st.lists(block | junk, max_size=6)


def _checked_resolver(user_id: str) -> str:
    assert isinstance(user_id, str)
    return f"name-of-{user_id}"


@settings(max_examples=150, deadline=None)
@given(first=blocks_strategy, second=blocks_strategy, width=st.integers(-5, 120))
def test_render_blocks_never_raises_and_numbers_are_unique(first: Any, second: Any, width: int) -> None:
    numbering = Numbering()
    renders = [
        render_blocks(first, numbering=numbering, user_name=_checked_resolver, width=width),
        render_view({"type": "modal", "blocks": second}, numbering=numbering, user_name=_checked_resolver),
        render_blocks(second, numbering=numbering, fallback_text="fallback", ansi=True),
    ]
    per_render = [sorted([i.number for i in r.interactives] + [f.number for f in r.inputs]) for r in renders]
    numbers = [number for render_numbers in per_render for number in render_numbers]
    # Unique, handed out in render order, and none wasted: exactly 1..N.
    assert numbers == list(range(1, len(numbers) + 1))
    for rendered in renders:
        assert all(isinstance(line, str) and "\n" not in line for line in rendered.lines)
        for item in rendered.interactives:
            assert numbering.get(item.number) == item
            assert re.search(rf"\[{item.number}\] ", rendered.text)


@settings(max_examples=100, deadline=None)
@given(view=junk | st.fixed_dictionaries({"type": texts, "title": text_obj, "blocks": blocks_strategy}))
def test_render_view_never_raises_on_arbitrary_views(view: Any) -> None:
    view = view if isinstance(view, dict) else {"blocks": view}
    rendered = render_view(view, numbering=Numbering())
    assert rendered.lines[0].startswith("╭─ ") and rendered.lines[-1].startswith("╰")


@given(text=st.text(alphabet=st.sampled_from("<>@#!|`*&;ltgamp^ \nU1x:/"), max_size=60))
def test_render_mrkdwn_never_raises(text: str) -> None:
    assert isinstance(render_mrkdwn(text, user_name=_checked_resolver), str)
