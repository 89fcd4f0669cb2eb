"""The newsroom directory: the TOML file, and the tables it is synced to."""

from intake.directory.parse import (
    DeskEntry,
    DirectoryError,
    NewsroomFile,
    ReporterEntry,
    TopicEntry,
    parse_newsroom,
    read_newsroom,
    routing_directory,
)
from intake.directory.tables import SyncReport, snapshot, sync_newsroom

__all__ = [
    "DeskEntry",
    "DirectoryError",
    "NewsroomFile",
    "ReporterEntry",
    "SyncReport",
    "TopicEntry",
    "parse_newsroom",
    "read_newsroom",
    "routing_directory",
    "snapshot",
    "sync_newsroom",
]
