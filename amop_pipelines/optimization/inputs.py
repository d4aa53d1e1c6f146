"""Reading `plans.csv` and `devices.csv` (DESIGN.md section 5) into a `Problem`, or saying why not.

Every problem is reported as `FILE:ROW: field: message` (ROW is the line in the file, the header
being line 1), all of them at once, and nothing is returned when there is any. Files as
spreadsheets save them are accepted: a UTF-8 byte order mark, CRLF line ends, quoted fields,
blanks around values.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import polars as pl

from amop_pipelines.contracts import COMM_PLAN_SEPARATOR, DEVICES_COLUMNS, PLANS_COLUMNS
from amop_pipelines.identifiers import iccid_problem
from amop_pipelines.optimization.problem import (
    MAX_CHARGE,
    MAX_DEVICES,
    MAX_MB,
    MAX_RATE,
    MAX_SMS,
    MB_SCALE,
    MIN_UNIT_MB,
    MONEY_SCALE,
    DeviceTable,
    PlanTable,
    Problem,
    allowed_option_sets,
)
from amop_pipelines.problems import MAX_PROBLEMS_SHOWN, InputError, InputProblem

PLANS_REQUIRED = PLANS_COLUMNS[:-1]
DEVICES_REQUIRED = ("iccid", "comm_plan", "usage_mb")
_TRUE, _FALSE = {"true", "1", "yes", "y", "t"}, {"false", "0", "no", "n", "f"}


def _text(path: Path) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise InputError([InputProblem(str(path), 0, "file", error.strerror or str(error))]) from error
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError([InputProblem(str(path), 0, "file", "is not UTF-8 text")]) from error


def _header(
    name: str, header: list[str], required: tuple[str, ...], known: tuple[str, ...]
) -> list[InputProblem]:
    problems = [
        InputProblem(name, 1, column, "required column is missing")
        for column in required
        if column not in header
    ]
    problems += [InputProblem(name, 1, column, "unknown column") for column in header if column not in known]
    duplicates = {c for c in header if header.count(c) > 1}
    problems += [InputProblem(name, 1, column, "column appears twice") for column in sorted(duplicates)]
    return problems


def _money(value: str, places: int = 4) -> Decimal:
    amount = Decimal(value)
    if not amount.is_finite():
        raise InvalidOperation
    if amount.as_tuple().exponent < -places:  # type: ignore[operator]
        raise ValueError(f"'{value}' has more than {places} decimal places")
    return amount


def read_plans(path: Path) -> PlanTable:
    reader = csv.reader(io.StringIO(_text(path)))
    return plans_from_rows(str(path), [[cell.strip() for cell in row] for row in reader])


def plans_from_rows(name: str, rows: list[list[str]]) -> PlanTable:
    """Plans from rows of text in the plans.csv layout, the first row being the header."""
    if not rows or not any(rows[0]):
        raise InputError(
            [InputProblem(name, 1, "file", "is empty: a header and at least one plan are needed")]
        )
    header = rows[0]
    problems = _header(name, header, PLANS_REQUIRED, PLANS_COLUMNS)
    if problems:
        raise InputError(problems)
    col = {column: header.index(column) for column in header}
    codes: list[str] = []
    values: dict[str, list[int]] = {k: [] for k in ("charge", "allowance", "rate", "unit", "sms")}
    pooled: list[bool] = []
    comm_plans: list[frozenset[str]] = []
    groups: list[str] = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue  # a blank line, as spreadsheets leave at the end
        if len(row) != len(header):
            problems.append(
                InputProblem(name, line, "row", f"has {len(row)} fields, the header has {len(header)}")
            )
            continue
        get = {column: row[i] for column, i in col.items()}
        code = get["plan_code"]
        if not code:
            problems.append(InputProblem(name, line, "plan_code", "is empty"))
        elif code in codes:
            problems.append(InputProblem(name, line, "plan_code", f"'{code}' appears twice"))
        parsed: dict[str, int] = {}
        for field, key, scale, least, most in (
            ("monthly_charge", "charge", MONEY_SCALE, None, MAX_CHARGE),
            ("allowance_mb", "allowance", MB_SCALE, None, MAX_MB),
            ("overage_rate", "rate", MONEY_SCALE, Decimal("0.0001"), MAX_RATE),
            ("overage_unit_mb", "unit", MB_SCALE, MIN_UNIT_MB, MAX_MB),
            ("sms_rate", "sms", MONEY_SCALE, None, MAX_RATE),
        ):
            try:
                amount = _money(get[field], 4 if scale == MONEY_SCALE else 6)
            except (InvalidOperation, ValueError) as error:
                detail = (
                    str(error)
                    if isinstance(error, ValueError) and str(error)
                    else f"'{get[field]}' is not a number"
                )
                problems.append(InputProblem(name, line, field, detail))
                continue
            if amount < 0 or (least is not None and amount < least):
                bound = (
                    f"at least {least} (a plan without it cannot be optimized)" if least else "zero or more"
                )
                problems.append(InputProblem(name, line, field, f"{amount} must be {bound}"))
                continue
            if amount > most:
                problems.append(InputProblem(name, line, field, f"{amount} is over the limit of {most:,}"))
                continue
            parsed[key] = int(amount * scale)
        flag = get["pooled"].lower()
        if flag not in _TRUE | _FALSE:
            problems.append(InputProblem(name, line, "pooled", f"'{get['pooled']}' must be true or false"))
        plans_comm = frozenset(c.strip() for c in get["comm_plans"].split(COMM_PLAN_SEPARATOR) if c.strip())
        if not plans_comm:
            problems.append(InputProblem(name, line, "comm_plans", "names no communication plan"))
        codes.append(code)
        for key in values:
            values[key].append(parsed.get(key, 1))
        pooled.append(flag in _TRUE)
        comm_plans.append(plans_comm)
        groups.append(get.get("optimization_group", ""))
    if not codes and not problems:
        problems.append(InputProblem(name, 2, "file", "has no plans"))
    if problems:
        raise InputError(problems)
    return PlanTable(
        codes=codes,
        charge=np.array(values["charge"], dtype=np.int64),
        allowance=np.array(values["allowance"], dtype=np.int64),
        rate=np.array(values["rate"], dtype=np.int64),
        unit=np.array(values["unit"], dtype=np.int64),
        sms=np.array(values["sms"], dtype=np.int64),
        pooled=np.array(pooled, dtype=bool),
        comm_plans=comm_plans,
        groups=groups,
    )


def _index(values: pl.Series) -> tuple[np.ndarray, list[str]]:
    names = sorted(values.unique().to_list())
    lookup = {name: i for i, name in enumerate(names)}
    return values.replace_strict(lookup, return_dtype=pl.Int32).to_numpy(), names


def read_devices(path: Path, plans: PlanTable, cycle_days: int) -> DeviceTable:
    name = str(path)
    text = _text(path)
    if not text.strip():
        raise InputError(
            [InputProblem(name, 1, "file", "is empty: a header and at least one device are needed")]
        )
    try:
        frame = pl.read_csv(io.StringIO(text), infer_schema=False, empty_string_is_null=False)
    except pl.exceptions.PolarsError as error:
        raise InputError([InputProblem(name, 0, "file", f"is not a readable CSV file: {error}")]) from error
    return devices_from_frame(name, frame, plans, cycle_days)


def devices_from_frame(name: str, frame: pl.DataFrame, plans: PlanTable, cycle_days: int) -> DeviceTable:
    """Devices from a frame of text columns in the devices.csv layout, validated as the file is."""
    frame = frame.rename({c: c.strip() for c in frame.columns})
    problems = _header(name, frame.columns, DEVICES_REQUIRED, DEVICES_COLUMNS)
    if problems:
        raise InputError(problems)
    if frame.height == 0:
        raise InputError([InputProblem(name, 2, "file", "has no devices")])
    if frame.height > MAX_DEVICES:
        raise InputError(
            [InputProblem(name, MAX_DEVICES + 2, "file", f"has more than {MAX_DEVICES:,} devices, the limit")]
        )
    frame = frame.with_columns(pl.all().fill_null("").str.strip_chars())
    for column in DEVICES_COLUMNS:
        if column not in frame.columns:
            frame = frame.with_columns(pl.lit("").alias(column))
    frame = frame.with_row_index("line", offset=2)

    def report(mask: pl.Expr, field: str, message: str) -> None:
        bad = frame.filter(mask).select("line", field)
        for line, value in bad.head(MAX_PROBLEMS_SHOWN * 2).iter_rows():
            problems.append(InputProblem(name, line, field, message.format(value=value)))

    frame = frame.with_columns(
        pl.col("usage_mb").cast(pl.Float64, strict=False).alias("_usage"),
        pl.when(pl.col("sms_count") == "")
        .then(pl.lit("0"))
        .otherwise(pl.col("sms_count"))
        .cast(pl.Int64, strict=False)
        .alias("_sms"),
        pl.when(pl.col("days_active") == "")
        .then(pl.lit(str(cycle_days)))
        .otherwise(pl.col("days_active"))
        .cast(pl.Int64, strict=False)
        .alias("_days"),
    )
    bad_iccid = ~pl.col("iccid").str.contains(r"^89\d{17,18}$")
    for line, value in (
        frame.filter(bad_iccid).select("line", "iccid").head(MAX_PROBLEMS_SHOWN * 2).iter_rows()
    ):
        problems.append(InputProblem(name, line, "iccid", iccid_problem(value) or "is malformed"))
    report(pl.col("iccid").is_duplicated() & ~bad_iccid, "iccid", "'{value}' appears twice")
    report(pl.col("comm_plan") == "", "comm_plan", "is empty")
    report(
        pl.col("_usage").is_null() | ~pl.col("_usage").is_finite(), "usage_mb", "'{value}' is not a number"
    )
    report(pl.col("_usage") < 0, "usage_mb", "{value} must not be negative")
    report(pl.col("_usage") > float(MAX_MB), "usage_mb", f"{{value}} is over the limit of {MAX_MB:,} MB")
    report(pl.col("_sms").is_null(), "sms_count", "'{value}' is not a whole number")
    report(pl.col("_sms") < 0, "sms_count", "{value} must not be negative")
    report(pl.col("_sms") > MAX_SMS, "sms_count", f"{{value}} is over the limit of {MAX_SMS:,}")
    report(pl.col("_days").is_null(), "days_active", "'{value}' is not a whole number")
    report(pl.col("_days") < 0, "days_active", "{value} must not be negative")
    known_plans = plans.codes
    report(
        (pl.col("current_plan") != "") & ~pl.col("current_plan").is_in(known_plans),
        "current_plan",
        "'{value}' is not a plan of the plans file",
    )

    comm_plan, comm_names = _index(frame["comm_plan"])
    group, group_names = _index(frame["optimization_group"])
    pairs = np.unique(np.stack([comm_plan, group], axis=1), axis=0)
    option_sets = allowed_option_sets(comm_names, group_names, pairs, plans)
    option_set = _pair_lookup(comm_plan, group, pairs)
    for row, (c, g) in enumerate(pairs):
        if not option_sets[row].any():
            who = f"communication plan '{comm_names[c]}'" + (
                f" in optimization group '{group_names[g]}'" if group_names[g] else ""
            )
            report(
                (pl.col("comm_plan") == comm_names[c]) & (pl.col("optimization_group") == group_names[g]),
                "comm_plan",
                f"no plan of the plans file is allowed for {who}",
            )
    if problems:
        problems.sort(key=lambda p: (p.row, p.field))
        raise InputError(problems)

    pool_key, key_names = _index(frame["pool_key"])
    plan_index = {code: i for i, code in enumerate(known_plans)}
    current = frame["current_plan"].replace_strict({"": -1, **plan_index}, return_dtype=pl.Int32).to_numpy()
    usage = np.rint(frame["_usage"].to_numpy() * MB_SCALE).astype(np.int64)
    return DeviceTable(
        iccids=frame["iccid"].to_list(),
        usage=usage,
        sms=frame["_sms"].to_numpy().astype(np.int64),
        days=np.minimum(frame["_days"].to_numpy().astype(np.int64), cycle_days),
        pool_key=pool_key,
        keys=key_names,
        option_set=option_set,
        option_sets=option_sets,
        option_set_pairs=pairs,
        comm_plan=comm_plan,
        comm_plans=comm_names,
        group=group,
        groups=group_names,
        current=current,
    )


def _pair_lookup(comm_plan: np.ndarray, group: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    width = int(group.max()) + 1 if len(group) else 1
    codes = pairs[:, 0].astype(np.int64) * width + pairs[:, 1]
    return np.searchsorted(codes, comm_plan.astype(np.int64) * width + group).astype(np.int32)


def read_problem(devices_csv: Path, plans_csv: Path, cycle_days: int) -> Problem:
    """Both files, validated: plans first, since devices are checked against them."""
    if cycle_days < 1:
        raise InputError([InputProblem("--cycle-days", 0, "cycle_days", f"{cycle_days} must be at least 1")])
    plans = read_plans(plans_csv)
    return Problem(read_devices(devices_csv, plans, cycle_days), plans, cycle_days)
