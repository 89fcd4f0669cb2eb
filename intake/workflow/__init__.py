"""Use cases, each committed in one transaction: the reader's submission, staff triage, outbox."""

from intake.workflow.admin import Moved, invite_staff, move_to_desk_inboxes, send_password_link
from intake.workflow.canned import (
    CANNED_LANGUAGES,
    canned_replies,
    canned_text,
    create_canned,
    set_canned_active,
    update_canned,
    usable_canned,
)
from intake.workflow.conversation import (
    READER_SEES,
    close_followup,
    followup_message,
    open_followup,
)
from intake.workflow.mailin import MailLimits, Refused, Taken
from intake.workflow.mailin import take as take_mail
from intake.workflow.outbox import cancel as cancel_email
from intake.workflow.outbox import send_again as send_email_again
from intake.workflow.purge import (
    PurgeIncomplete,
    PurgeReport,
    purge_closed,
    purge_email,
    purge_reference,
)
from intake.workflow.submit import NewSubmission, decide, submit
from intake.workflow.triage import (
    TRANSITIONS,
    BulkResult,
    Conflict,
    NotAllowed,
    Target,
    add_note,
    assign,
    bulk_assign,
    bulk_status,
    change_status,
    check_version,
    destination,
    reply,
    reply_channels,
)

__all__ = [
    "CANNED_LANGUAGES",
    "TRANSITIONS",
    "BulkResult",
    "Conflict",
    "MailLimits",
    "Moved",
    "NewSubmission",
    "NotAllowed",
    "READER_SEES",
    "PurgeIncomplete",
    "PurgeReport",
    "Refused",
    "Taken",
    "Target",
    "add_note",
    "assign",
    "bulk_assign",
    "bulk_status",
    "canned_replies",
    "canned_text",
    "close_followup",
    "cancel_email",
    "change_status",
    "check_version",
    "create_canned",
    "decide",
    "destination",
    "followup_message",
    "invite_staff",
    "move_to_desk_inboxes",
    "open_followup",
    "purge_closed",
    "purge_email",
    "purge_reference",
    "reply",
    "reply_channels",
    "send_email_again",
    "send_password_link",
    "set_canned_active",
    "submit",
    "take_mail",
    "update_canned",
    "usable_canned",
]
