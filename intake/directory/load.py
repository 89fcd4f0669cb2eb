"""Load a directory file into the tables: from disk (the command), or uploaded (an admin).

Both go through `apply_newsroom`, which syncs, records who did it, and commits once. The
file stays the source of truth: an uploaded one is written over the file on disk, in the
same step, or not applied at all.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from intake.directory.parse import NewsroomFile, parse_newsroom, read_newsroom
from intake.directory.tables import SyncReport, sync_newsroom
from intake.models import AuditEvent, DbSession


class NotSaved(Exception):
    """The directory file on disk cannot be written; nothing was applied."""


def apply_newsroom(
    session: DbSession, newsroom: NewsroomFile, *, actor: str, source: str
) -> SyncReport:
    """Make the tables match a valid file, with an audit event naming who and whence; commit."""
    try:
        report = sync_newsroom(session, newsroom)
        session.add(
            AuditEvent(
                actor=actor,
                action="newsroom.applied",
                target="newsroom",
                detail=f"{newsroom.name!r} from {source}: {report.summary('; ')}",
            )
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report


def load_file(
    session: DbSession, path: str | Path, *, actor: str
) -> tuple[NewsroomFile, SyncReport]:
    """Read, validate and apply the directory file at path (DirectoryError if it is not valid)."""
    newsroom = read_newsroom(path)
    return newsroom, apply_newsroom(session, newsroom, actor=actor, source=str(path))


def replace_file(session: DbSession, text: str, path: str | Path, *, actor: str) -> SyncReport:
    """Apply an uploaded directory's text and write it over the file at path, or do neither.

    DirectoryError if the text is not valid; NotSaved if the file cannot be written.
    """
    newsroom = parse_newsroom(text, Path(path).resolve().parent)
    # A deployment may link the setting to a file kept elsewhere: replace that file, not
    # the link.
    target = Path(path).resolve()
    before = _read_old(target)
    temporary = _write_beside(target, text)
    try:
        os.replace(temporary, target)
        _sync_folder(target.parent)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise NotSaved(
            f"Cannot write {target}: {exc.strerror or exc}. Nothing was applied."
        ) from None
    try:
        return apply_newsroom(
            session, newsroom, actor=actor, source=f"an upload, saved to {target}"
        )
    except BaseException:
        # The tables kept the old directory: so does the file.
        with contextlib.suppress(OSError, NotSaved):
            if before is None:
                target.unlink()
            else:
                os.replace(_write_beside(target, before), target)
        raise


def _sync_folder(folder: Path) -> None:
    """Make the rename itself durable: a crash after it must not bring the old file back."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _read_old(target: Path) -> str | None:
    try:
        return target.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotSaved(f"Cannot read {target} to replace it: {exc}. Nothing was applied.") from None


def _write_beside(target: Path, text: str) -> Path:
    """Write text to a new file in the target's folder (so replacing it is atomic)."""
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise NotSaved(
            f"Cannot write in {target.parent}: {exc.strerror or exc}. Nothing was applied."
        ) from None
    temporary = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temporary, target.stat().st_mode & 0o777)  # keep the file's permissions
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise NotSaved(
            f"Cannot write {target}: {exc.strerror or exc}. Nothing was applied."
        ) from None
    return temporary
