"""Proving the stack: drills, venue audits, resource sampling and soak reports."""

from mm_soak.drills import DRILLS, SHORT_DRILLS, Drill, DrillResult, run_drill
from mm_soak.quote_watch import QuoteWatch
from mm_soak.stack import LocalStack, StackOptions
from mm_soak.venue_audit import AuditFindings, VenueAudit

__all__ = [
    "DRILLS",
    "SHORT_DRILLS",
    "AuditFindings",
    "Drill",
    "DrillResult",
    "LocalStack",
    "QuoteWatch",
    "StackOptions",
    "VenueAudit",
    "run_drill",
]
