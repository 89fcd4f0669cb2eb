"""The newsroom directory: the TOML file, and the tables it is synced to."""

from intake.directory.diff import Change, Diff, compare
from intake.directory.load import NotSaved, apply_newsroom, load_file, replace_file
from intake.directory.overview import (
    Overview,
    ReporterNow,
    Stranded,
    held,
    inbox_for,
    overview,
    stranded,
)
from intake.directory.parse import (
    DirectoryError,
    NewsroomFile,
    parse_newsroom,
    read_newsroom,
    routing_directory,
)
from intake.directory.tables import NewsroomInfo, Snapshot, SyncReport, snapshot, sync_newsroom

__all__ = [
    "Change",
    "Diff",
    "DirectoryError",
    "NewsroomFile",
    "NewsroomInfo",
    "NotSaved",
    "Overview",
    "ReporterNow",
    "Snapshot",
    "Stranded",
    "SyncReport",
    "apply_newsroom",
    "compare",
    "held",
    "inbox_for",
    "load_file",
    "overview",
    "parse_newsroom",
    "read_newsroom",
    "replace_file",
    "routing_directory",
    "snapshot",
    "stranded",
    "sync_newsroom",
]
