"""The files of a class's submissions, from a folder or a zip, read safely.

Zip entries are read in memory and never extracted, at most ``MAX_NOTEBOOK_BYTES`` each
whatever size they declare; names with ``..`` or an absolute path, symbolic links and
encrypted entries are refused. In a folder, symbolic links are listed, never followed.
Each file is an :class:`Entry`; ``refused`` says why one is never read.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024  # larger notebooks are refused, not read


@dataclass
class Entry:
    path: str  # as the instructor sees it in the input
    parts: tuple[str, ...]
    size: int
    handle: object = None
    refused: str = ""  # never read, for this reason


def folder_entries(root: Path) -> list[Entry]:
    entries = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        for name in sorted(dirs + files):
            path = here / name
            rel = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISDIR(info.st_mode):
                continue
            refused = ""
            if stat.S_ISLNK(info.st_mode):
                kind = "folder" if path.is_dir() else "file"
                refused = f"is a symbolic link (to a {kind}): not followed"
            elif not stat.S_ISREG(info.st_mode):
                refused = "is not a regular file"
            entries.append(Entry(rel, tuple(rel.split("/")), info.st_size, path, refused))
        dirs.sort()
    return entries


def zip_entries(archive: zipfile.ZipFile) -> list[Entry]:
    entries = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = info.filename.replace("\\", "/")
        parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
        refused = ""
        if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
            refused, parts = "has an absolute path in the zip: refused", ()
        elif ".." in parts:
            refused = "climbs out of its folder (..) in the zip: refused"
            parts = parts[: parts.index("..")] + ("..",) if parts[0] != ".." else ()
        elif stat.S_ISLNK(info.external_attr >> 16):
            refused = "is a symbolic link in the zip: not followed"
        elif info.flag_bits & 0x1:
            refused = "is encrypted in the zip: cannot be read"
        elif info.file_size > MAX_NOTEBOOK_BYTES:
            refused = (f"declares {info.file_size / 2**20:.0f} MiB uncompressed, over the "
                       f"{MAX_NOTEBOOK_BYTES >> 20} MiB limit: not read")  # fmt: skip
        entries.append(Entry(info.filename, parts, info.file_size, info, refused))
    return entries


def read_file(entry: Entry) -> tuple[bytes | None, str]:
    if entry.size > MAX_NOTEBOOK_BYTES:
        return None, _too_large(entry.size)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        with os.fdopen(os.open(entry.handle, flags), "rb") as handle:
            content = handle.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as error:
        return None, f"could not be read: {error.strerror}"
    if len(content) > MAX_NOTEBOOK_BYTES:
        return None, _too_large(len(content))
    return content, ""


def read_zip(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[bytes | None, str]:
    try:
        with archive.open(info) as handle:  # the declared size can lie: read at most the cap
            content = handle.read(MAX_NOTEBOOK_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as error:
        return None, (f"could not be unpacked from the zip ({error}): damaged, or its "
                      "content is not what its header declares (a zip bomb?)")  # fmt: skip
    if len(content) > MAX_NOTEBOOK_BYTES:
        return None, (f"expands past {MAX_NOTEBOOK_BYTES >> 20} MiB though it declares "
                      f"{info.file_size} bytes (a zip bomb?): not read")  # fmt: skip
    return content, ""


def _too_large(size: int) -> str:
    return f"is {size / 2**20:.0f} MiB, over the {MAX_NOTEBOOK_BYTES >> 20} MiB limit: not read"
