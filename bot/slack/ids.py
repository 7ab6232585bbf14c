"""Names Slack and Switchman must agree on: commands, action ids, callback ids.

A test checks each command here against manifest.yml, so renaming one without the other fails.
"""

from enum import StrEnum


class Command(StrEnum):
    DEPLOY = "/deploy"
    ROLLBACK = "/rollback"
    ONCALL = "/oncall"


class ActionId(StrEnum):
    APPROVE = "release_approve"
    REJECT = "release_reject"
    OVERRIDE = "release_override"
    PROMOTE = "release_promote"
    ABORT = "release_abort"
    ROLL_BACK = "release_roll_back"
    CONTINUE = "release_continue"
    JOIN_PAIR = "release_join_pair"
    TRUST_APPROVE = "trust_approve"
    TRUST_NOT_YET = "trust_not_yet"
    PAGE_ACK = "page_ack"
    PAGE_RESOLVE = "page_resolve"
    SWAP_TAKE = "swap_take"
    SWAP_APPROVE = "swap_approve"
    SWAP_DECLINE = "swap_decline"


class CallbackId(StrEnum):
    DEPLOY_MODAL = "deploy_modal"
    ROLLBACK_MODAL = "rollback_modal"
    OVERRIDE_MODAL = "override_modal"


class Event(StrEnum):
    APP_HOME_OPENED = "app_home_opened"
