"""The public CSV contracts of docs/CONTRACTS.md: column names and order, and their writers.

Other teams' tools read and write these files: change a column only with a migration note in
the README.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

PLANS_COLUMNS = (
    "plan_code",
    "monthly_charge",
    "allowance_mb",
    "overage_rate",
    "overage_unit_mb",
    "sms_rate",
    "pooled",
    "comm_plans",
    "optimization_group",
)
DEVICES_COLUMNS = (
    "iccid",
    "comm_plan",
    "usage_mb",
    "sms_count",
    "days_active",
    "pool_key",
    "current_plan",
    "optimization_group",
)
ASSIGNMENTS_COLUMNS = ("iccid", "plan_code")
COMM_PLAN_SEPARATOR = ";"


def plain_number(value: Decimal | int | float | None) -> str:
    """A number as a spreadsheet shows it: no exponent, no trailing zeros ('' for None)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text in ("-0", "") else text


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | float | int):
        return plain_number(value)
    return str(value)


class OutputError(ValueError):
    """An output path that must not be written: not a regular file, or one of the inputs."""


def check_output(path: Path, inputs: Sequence[Path] = ()) -> Path:
    """`path` if writing it replaces nothing but a regular file that is none of `inputs`."""
    path = Path(path)
    if path.exists() or path.is_symlink():
        if not path.is_file():
            raise OutputError(f"--out {path}: not a regular file; give a new path or a file to replace")
        for given in inputs:
            if Path(given).exists() and path.samefile(given):
                raise OutputError(f"--out {path}: that is an input ({given}); write the result elsewhere")
    return path


def write_csv(
    path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], inputs: Sequence[Path] = ()
) -> int:
    """Write `rows` under `columns` to a temporary file, then move it into place.

    A reader never sees a half-written file; returns the number of data rows. Only a new path or
    a regular file other than the `inputs` is replaced (`check_output`).
    """
    path = check_output(path, inputs)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    count = 0
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([cell(value) for value in row])
            count += 1
    partial.replace(path)
    return count
