"""What is kept on disk: every inbound message's raw bytes (for audit, `inbound_messages.raw_path`)
and the attachments of replies from verified senders (photos of the fix).

File names are generated, never taken from the message: `<inbound id>.eml` in a folder per
month of the run, `<case>/<inbound id>-<n><ext>` for attachments, where the extension comes from a short
list of content types (else the sender's extension if it is on the list, else `.bin`). A name
like `../../etc/passwd` or `C:\\x.jpg` is kept only as metadata, sanitised. Writing the same
message again (a rerun after a crash before the commit) writes the same files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from tasks.replies.parsing import Attachment

EXTENSIONS = {
    "image/jpeg": ".jpg", "image/pjpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
    "image/webp": ".webp", "image/heic": ".heic", "image/heif": ".heif", "image/bmp": ".bmp",
    "application/pdf": ".pdf", "video/mp4": ".mp4", "video/quicktime": ".mov",
    "application/msword": ".doc", "application/vnd.ms-excel": ".xls",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}
_KNOWN_SUFFIXES = frozenset(EXTENSIONS.values()) | {".jpeg"}
_CASE_FOLDER = re.compile(r"LD-\d{4}-\d{6}")


class StorageError(Exception):
    """A raw copy or an attachment cannot be written (disk full, folder not writable). The batch
    is not committed and its messages are not moved: they are read again by the next run."""


@dataclass(frozen=True)
class Stored:
    path: Path
    size: int
    sha256: str


def ready_folder(folder: Path) -> str:
    """`folder`, made if missing, as a plain string; one that cannot be made is a StorageError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _storage_error(folder, exc) from None
    return str(folder)


def keep_raw(folder: str, inbound_id: str, raw: bytes) -> str:
    """The first copy is kept: a duplicate delivery (same inbound id) does not replace it.
    `folder` exists; paths are plain strings here, ten thousand times a run."""
    path = os.path.join(folder, f"{inbound_id}.eml")
    if not os.path.exists(path):
        try:
            with open(path + ".part", "wb") as f:
                f.write(raw)
            os.replace(path + ".part", path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(path + ".part")
            raise _storage_error(folder, exc) from None
    return path


def keep_attachment(folder: Path, case_id: str | None, inbound_id: str, position: int,
                    attachment: Attachment) -> Stored:
    case_folder = case_id if case_id and _CASE_FOLDER.fullmatch(case_id) else "unmatched"
    path = folder / case_folder / f"{inbound_id}-{position:02d}{_extension(attachment)}"
    _write(path, attachment.data)
    return Stored(path, len(attachment.data), hashlib.sha256(attachment.data).hexdigest())


def _extension(attachment: Attachment) -> str:
    if attachment.content_type in EXTENSIONS:
        return EXTENSIONS[attachment.content_type]
    suffix = os.path.splitext(attachment.original_name)[1].lower()
    return ".jpg" if suffix == ".jpeg" else suffix if suffix in _KNOWN_SUFFIXES else ".bin"


def _write(path: Path, data: bytes) -> None:
    # Written beside and renamed: a reader never sees half a file, and a rerun replaces it whole.
    partial = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise _storage_error(path.parent, exc) from None


def _storage_error(folder: str | Path, exc: OSError) -> StorageError:
    return StorageError(f"无法写入 {folder}（磁盘已满或文件夹不可写），本批回复未处理，下次重读 / cannot write to {folder} "
                        f"(disk full or not a writable folder); this batch of replies was not applied and is read "
                        f"again next run: {exc.strerror or exc}")
