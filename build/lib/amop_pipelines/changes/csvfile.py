"""Reading a change file: as spreadsheets save them (BOM, CRLF, quotes, blanks), rows numbered
as the file's lines (the header is line 1)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from amop_pipelines.changes.change_type import ChangeType
from amop_pipelines.problems import InputError as RejectedFile
from amop_pipelines.problems import InputProblem as Problem


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]


def read_change_file(path: Path, change_type: ChangeType) -> list[Row]:
    name = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise RejectedFile([Problem(name, 0, "file", error.strerror or str(error))]) from error
    except UnicodeDecodeError as error:
        raise RejectedFile([Problem(name, 0, "file", "is not UTF-8 text")]) from error
    records = list(csv.reader(io.StringIO(text, newline=""), skipinitialspace=True))
    while records and not any(cell.strip() for cell in records[-1]):
        records.pop()  # blank lines that spreadsheets leave at the end
    if not records:
        raise RejectedFile([Problem(name, 1, "file", "is empty: a header and at least one row are needed")])
    header = [cell.strip() for cell in records[0]]
    problems = [
        Problem(name, 1, c, "required column is missing") for c in change_type.required if c not in header
    ]
    problems += [
        Problem(name, 1, c, f"unknown column for {change_type.name}")
        for c in header
        if c not in change_type.column_names
    ]
    problems += [
        Problem(name, 1, c, "column appears twice")
        for c in sorted({c for c in header if header.count(c) > 1})
    ]
    if len(records) == 1 and not problems:
        problems.append(Problem(name, 2, "file", "has no rows after the header"))
    rows = []
    for line, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            problems.append(Problem(name, line, "row", "is empty"))
            continue
        if len(record) != len(header):
            problems.append(
                Problem(name, line, "row", f"has {len(record)} fields, the header has {len(header)}")
            )
            continue
        rows.append(Row(line, {column: cell.strip() for column, cell in zip(header, record, strict=True)}))
    if problems:
        raise RejectedFile(problems)
    return rows
