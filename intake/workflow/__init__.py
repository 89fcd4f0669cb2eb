"""Use cases, each committed in one transaction: the reader's submission, staff triage, outbox."""

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
    reply,
    reply_channels,
)

__all__ = [
    "TRANSITIONS",
    "BulkResult",
    "Conflict",
    "MailLimits",
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
    "close_followup",
    "cancel_email",
    "change_status",
    "decide",
    "followup_message",
    "open_followup",
    "purge_closed",
    "purge_email",
    "purge_reference",
    "reply",
    "reply_channels",
    "send_email_again",
    "submit",
    "take_mail",
]
