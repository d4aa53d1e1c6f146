"""Reading a change file: as spreadsheets save them (BOM, CRLF, quotes, blanks), rows numbered
as the file's lines (the header is line 1).

The file is read as a stream, within limits that hold for every input: only a regular file (not a
device such as /dev/zero, a pipe or a folder), at most MAX_FILE_BYTES and MAX_ROWS rows (a
larger change is split into several requests), fields of at most MAX_FIELD_CHARS characters.
Memory is bounded by those limits, never by what the file claims to be.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from amop_pipelines.changes.change_type import ChangeType
from amop_pipelines.problems import InputError as RejectedFile
from amop_pipelines.problems import InputProblem as Problem

MAX_FILE_BYTES = 64 * 1024 * 1024  # 64 MiB
MAX_ROWS = 250_000  # rows after the header, per request
MAX_FIELD_CHARS = 256  # no column of any change type needs more


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]


def _open_regular(path: Path, name: str) -> io.BufferedReader:
    """The file opened for reading, if it is a regular file within the size limit."""
    try:
        # O_NONBLOCK: opening a named pipe returns at once instead of waiting for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise RejectedFile([Problem(name, 0, "file", error.strerror or str(error))]) from error
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise RejectedFile(
            [Problem(name, 0, "file", "is not a regular file (a device, pipe or folder): give a CSV file")]
        )
    if info.st_size > MAX_FILE_BYTES:
        os.close(fd)
        raise RejectedFile(
            [
                Problem(
                    name,
                    0,
                    "file",
                    f"is {info.st_size:,} bytes, over the limit of {MAX_FILE_BYTES:,} bytes (64 MiB) "
                    "per request: split it into several files",
                )
            ]
        )
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _records(
    binary: io.BufferedReader, name: str, problems: list[Problem]
) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of each record; a file that cannot be read further ends with a problem."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, skipinitialspace=True)
    try:
        for record in reader:
            yield reader.line_num, record
    except UnicodeDecodeError:
        problems.append(Problem(name, reader.line_num + 1, "file", "is not UTF-8 text"))
    except csv.Error as error:
        reason = str(error)
        if "field larger than field limit" in reason:
            reason = f"a field is longer than {csv.field_size_limit():,} characters"
        problems.append(Problem(name, reader.line_num, "row", f"cannot be read: {reason}"))


def read_change_file(path: Path, change_type: ChangeType) -> list[Row]:
    name = str(path)
    problems: list[Problem] = []
    rows: list[Row] = []
    with _open_regular(Path(path), name) as binary:
        records = _records(binary, name, problems)
        header_record = next(records, None)
        if header_record is None:
            if not problems:
                problems.append(
                    Problem(name, 1, "file", "is empty: a header and at least one row are needed")
                )
            raise RejectedFile(problems)
        header = [cell.strip() for cell in header_record[1]]
        problems += [
            Problem(name, 1, c, "required column is missing") for c in change_type.required if c not in header
        ]
        problems += [
            Problem(name, 1, c[:MAX_FIELD_CHARS], f"unknown column for {change_type.name}")
            for c in header
            if c not in change_type.column_names
        ]
        problems += [
            Problem(name, 1, c, "column appears twice")
            for c in sorted({c for c in header if header.count(c) > 1})
        ]
        blank_lines: list[int] = []  # reported only when a row follows (spreadsheets leave some at the end)
        for line, record in records:
            if not any(cell.strip() for cell in record):
                blank_lines.append(line)
                continue
            problems += [Problem(name, blank, "row", "is empty") for blank in blank_lines]
            blank_lines.clear()
            if len(rows) >= MAX_ROWS:
                problems.append(
                    Problem(
                        name,
                        line,
                        "file",
                        f"has more than {MAX_ROWS:,} rows, the limit per request: split it into several",
                    )
                )
                break
            if len(record) != len(header):
                problems.append(
                    Problem(name, line, "row", f"has {len(record)} fields, the header has {len(header)}")
                )
                continue
            values = {column: cell.strip() for column, cell in zip(header, record, strict=True)}
            too_long = [c for c, v in values.items() if len(v) > MAX_FIELD_CHARS]
            problems += [
                Problem(name, line, c, f"is {len(values[c]):,} characters; at most {MAX_FIELD_CHARS}")
                for c in too_long
            ]
            if not too_long:
                rows.append(Row(line, values))
    if not rows and not problems:
        problems.append(Problem(name, 2, "file", "has no rows after the header"))
    if problems:
        raise RejectedFile(problems)
    return rows
