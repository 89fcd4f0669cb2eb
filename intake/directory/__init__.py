"""The newsroom directory: the TOML file, and the tables it is synced to."""

from intake.directory.parse import (
    DirectoryError,
    NewsroomFile,
    parse_newsroom,
    read_newsroom,
    routing_directory,
)
from intake.directory.tables import NewsroomInfo, Snapshot, SyncReport, snapshot, sync_newsroom

__all__ = [
    "DirectoryError",
    "NewsroomFile",
    "NewsroomInfo",
    "Snapshot",
    "SyncReport",
    "parse_newsroom",
    "read_newsroom",
    "routing_directory",
    "snapshot",
    "sync_newsroom",
]
