"""Use cases, each committed in one transaction: the reader's submission, staff triage."""

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
)

__all__ = [
    "TRANSITIONS",
    "BulkResult",
    "Conflict",
    "NewSubmission",
    "NotAllowed",
    "Target",
    "add_note",
    "assign",
    "bulk_assign",
    "bulk_status",
    "change_status",
    "decide",
    "reply",
    "submit",
]
