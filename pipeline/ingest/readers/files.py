"""Which entries of an inbox folder are read: regular files, and symlinks to regular files inside it.

A FIFO, socket or device is refused by its type, seen with lstat before anything opens it
(opening a FIFO waits for a writer). A symlink is followed only when it resolves to a regular
file inside the inbox's resolved root: one leading outside (``passwd.txt -> /etc/passwd``), a
loop and a dangling link are refused. Folders are walked without following symlinks; a symlink
to a folder is refused (what it holds inside the inbox is walked anyway). Hidden entries are
left out. Every refusal names its reason, so nothing in an inbox is skipped silently.
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.ingest.readers.common import InputError

KINDS = (
    (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
)


def kind_of(mode: int) -> str:
    return next((name for test, name in KINDS if test(mode)), "not a regular file")


@dataclass(slots=True)
class Listing:
    """The entries of an inbox folder to read or refuse, and folders that could not be listed."""

    paths: list[Path] = field(default_factory=list)
    unlisted: list[tuple[Path, str]] = field(default_factory=list)


def list_inbox(root: Path) -> Listing:
    """Every non-hidden entry below `root` that is not a folder (symlinks included, not followed), sorted."""
    listing = Listing()

    def unlisted(exc: OSError) -> None:
        listing.unlisted.append((Path(exc.filename or root), f"cannot list directory: {exc.strerror or exc}"))

    for folder, dirs, files in os.walk(root, onerror=unlisted, followlinks=False):
        base = Path(folder)
        links = [d for d in dirs if (base / d).is_symlink()]  # os.walk lists a link to a folder among folders
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in links)
        listing.paths.extend(base / name for name in [*files, *links] if not name.startswith("."))
    listing.paths.sort()
    return listing


def regular_file(path: Path, inside: Path | None) -> tuple[Path, os.stat_result]:
    """The regular file `path` stands for (itself, or a symlink's target within `inside`, a
    resolved folder) and its stat; an InputError naming what it is otherwise. Opens nothing."""
    info = os.lstat(path)
    target = path
    if stat.S_ISLNK(info.st_mode):
        try:
            info = os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise InputError("symlink loop: not followed") from None
            if exc.errno == errno.ENOENT:
                raise InputError(f"dangling symlink: its target {os.readlink(path)!r} does not exist") from None
            raise InputError(f"cannot follow symlink: {exc.strerror or exc}") from None
        target = Path(os.path.realpath(path))
        if inside is not None and not target.is_relative_to(inside):
            raise InputError("symlink leads outside the inbox: not followed")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"symlink to {kind_of(info.st_mode)}: not followed")
    elif not stat.S_ISREG(info.st_mode):
        raise InputError(f"{kind_of(info.st_mode)}, not a regular file: not read")
    return target, info
