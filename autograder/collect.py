"""Submissions as a .zip, as a learning management system downloads them.

Two layouts are understood, in one archive or mixed:

- folders: `<student_id>/<notebook>.ipynb` (optionally all inside one top-level folder, and
  nbgrader's `<student_id>/<assignment>/<notebook>.ipynb`);
- files named after the learner: the student id is read from the file name with a regular
  expression that has a `student_id` group. The default, `^(?P<student_id>[A-Za-z0-9.@+-]+?)_`,
  takes the text before the first underscore, as in Canvas's `smithjane_12345_67890_name.ipynb`
  or `smithjane_LATE_...`; Moodle's `Jane Smith_12345_assignsubmission_file_/name.ipynb` is a
  folder layout whose folder name holds a space, so give it `--zip-pattern` such as
  `_(?P<student_id>\\d+)_assignsubmission` (the pattern is searched in the whole member path).

The archive is unpacked into OUT/unzipped/<student_id>/ (rebuilt on every run; the .zip itself is
only read). A file keeps its name with the LMS decoration removed when it ends in a notebook name
(`smithjane_12345_clipping_numpy.ipynb` -> `clipping_numpy.ipynb`). Members that are links, have
absolute or `..` paths, or would unpack to more than the size limits are refused.
"""

from __future__ import annotations

import re
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from autograder.course import STUDENT_ID, AutograderError

DEFAULT_ZIP_PATTERN = r"^(?P<student_id>[A-Za-z0-9.@+-]+?)_"
MAX_MEMBER_BYTES = 200 * 2**20
MAX_TOTAL_BYTES = 2 * 2**30


def unpack_zip(archive: Path, target: Path, pattern: str = DEFAULT_ZIP_PATTERN) -> Path:
    """Unpack `archive` into `target` as <student_id>/<file>; return `target`."""
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise AutograderError(
            f"--zip-pattern {pattern!r} is not a regular expression: {error}") from error
    if "student_id" not in regex.groupindex:
        raise AutograderError(f"--zip-pattern {pattern!r} has no (?P<student_id>...) group")
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist() if _wanted(m)]
            _check_sizes(archive, members)
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            prefix = _common_folder(members)
            for member in members:
                placed = _place(member.filename, prefix, regex)
                if placed is None:
                    continue  # not a learner's file (a README at the top, say)
                student_id, name = placed
                destination = _free_name(target / student_id / name)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as error:
        raise AutograderError(f"{archive} is not a readable .zip ({error})") from error
    return target


def _wanted(member: zipfile.ZipInfo) -> bool:
    path = PurePosixPath(member.filename)
    if member.is_dir() or path.is_absolute() or ".." in path.parts:
        return False
    if stat.S_ISLNK(member.external_attr >> 16):
        return False  # a link could point anywhere on the grader's disk
    return not any(part.startswith(".") or part == "__MACOSX" for part in path.parts)


def _check_sizes(archive: Path, members: list[zipfile.ZipInfo]) -> None:
    for member in members:
        if member.file_size > MAX_MEMBER_BYTES:
            raise AutograderError(f"{archive}: {member.filename} would unpack to "
                                  f"{member.file_size / 2**20:.0f} MiB (limit "
                                  f"{MAX_MEMBER_BYTES // 2**20} MiB); nothing was unpacked")
    total = sum(member.file_size for member in members)
    if total > MAX_TOTAL_BYTES:
        raise AutograderError(f"{archive} would unpack to {total / 2**30:.1f} GiB (limit "
                              f"{MAX_TOTAL_BYTES // 2**30} GiB); nothing was unpacked")


def _common_folder(members: list[zipfile.ZipInfo]) -> str | None:
    """The one top-level folder every member is in (an LMS often zips 'submissions/'), if any."""
    tops = {PurePosixPath(m.filename).parts[0] for m in members}
    deep = all(len(PurePosixPath(m.filename).parts) > 2 for m in members)
    return tops.pop() if len(tops) == 1 and deep else None


def _place(filename: str, prefix: str | None, regex: re.Pattern) -> tuple[str, str] | None:
    """(student_id, file name) for an archive member, or None when it names no learner."""
    parts = PurePosixPath(filename).parts
    if prefix is not None:
        parts = parts[1:]
    # The default pattern reads file names at the top; an instructor's own is searched in the
    # whole path first (Moodle's folder names, say).
    match = None if (len(parts) >= 2 and regex.pattern == DEFAULT_ZIP_PATTERN) else regex.search(
        "/".join(parts))
    if match and match.group("student_id"):
        student_id = match.group("student_id")
    elif len(parts) >= 2:
        student_id = parts[0]  # the folder layout
    else:
        return None
    if not STUDENT_ID.match(student_id):
        return None
    name = parts[-1]
    if len(parts) == 1 and name.startswith(f"{student_id}_"):
        name = _without_decoration(name[len(student_id) + 1:])
    return student_id, name


def _without_decoration(name: str) -> str:
    """`LATE_12345_67890_clipping_numpy.ipynb` -> `clipping_numpy.ipynb`: drop the LMS's
    markers and numbers before the learner's own file name."""
    parts = name.split("_")
    while len(parts) > 1 and (parts[0].isdigit() or parts[0] == "LATE"):
        parts = parts[1:]
    return "_".join(parts)


def _free_name(path: Path) -> Path:
    """`path`, or `name-2.ipynb`, `name-3.ipynb`... if a file of that name was unpacked already."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate
