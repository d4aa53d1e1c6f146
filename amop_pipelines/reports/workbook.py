"""The optimization report, as finance reads it: a Summary sheet first (the totals in the account's
currency, savings as an amount and a percent, the billing close in the account's zone, what happens
next, the lower bound as a gap on the same basis), then Statistics per rate plan with a totals row
and a savings chart, Assignments with the changed devices first (a Changed column, filters),
Shared Pool, and Realized savings when earlier months have been priced after their close.

The workbook is written by XlsxWriter (constant-memory mode), but for the Assignments: a million
rows at a library call per cell took a minute, so their sheets are filled in column-wise from a
polars frame (`reports.assignments`: 1,000,000 rows in about 10 s). Past Excel's row limit the
Assignments continue on further sheets ("Assignments 2", ...), and the whole list is also written
as a CSV file beside the workbook (`assignments_csv`), the same columns.

Cells that a spreadsheet would take for a formula (text starting with =, +, -, @) are written
with a leading apostrophe-quote so they stay text (CSV/formula injection, `reports.formulas`), in
the CSV file too.
Files are written only inside the report folder they are given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from amop_pipelines.memory import no_cyclic_gc
from amop_pipelines.reports import assignments as assignment_rows
from amop_pipelines.reports.assignments import AssignmentRow, assignments_frame
from amop_pipelines.reports.formulas import safe

MONEY = "#,##0.00"
MB = "#,##0.000"
PERCENT = "0.00%"
ROUNDING_NOTE = (
    "Per-plan figures are shares of pooled costs, each rounded to cents: their total may differ "
    "from the Summary's exact totals by a few cents."
)
HEADER_STYLE = {"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F4E78", "align": "center"}
SHEET_ROWS = 1_048_576  # Excel's rows per sheet, the header included
ASSIGNMENT_COLUMNS = list(assignment_rows.COLUMNS.values())


@dataclass(frozen=True)
class Line:
    """A line of the summary: a label, its value and how to show it (MONEY, PERCENT or as is)."""

    label: str
    value: object
    number_format: str | None = None

    def text(self, currency: str = "") -> str:
        """The line as a mail says it."""
        if self.value is None:
            return f"{self.label}: -"
        if self.number_format == MONEY:
            return f"{self.label}: {self.value:,.2f} {currency}".rstrip()
        if self.number_format == PERCENT:
            return f"{self.label}: {float(self.value):.2%}"  # type: ignore[arg-type]
        return f"{self.label}: {self.value}"


@dataclass
class PoolRow:
    pool: str
    plan: str
    devices: int
    allowance_mb: Decimal
    usage_mb: Decimal
    overage_mb: Decimal
    cost: Decimal


@dataclass
class RealizedSheet:
    """Closed months priced on their final usage (rows made by `planning.realized`): a table of
    months, newest first, then the newest month's devices, the largest projection errors first."""

    month_columns: list[str]
    months: list[list]  # money in columns 4-8, MB in 9-10, the projection error a fraction in 11
    devices_month: str
    device_columns: list[str]
    devices: list[list]  # MB in columns 6-8


@dataclass
class PlanStatistics:
    plan: str
    devices_before: int
    devices_after: int
    cost_before: Decimal
    cost_after: Decimal

    @property
    def savings(self) -> Decimal:
        return self.cost_before - self.cost_after


def assignments_csv(report: Path) -> Path:
    """The CSV file of every assignment, beside the workbook `report`."""
    return report.with_name(report.stem + "-assignments.csv")


class _Styles:
    """The workbook's cell formats, made once (XlsxWriter wants a format object per style)."""

    def __init__(self, book: Workbook, currency: str) -> None:
        self.book = book
        self._made: dict[tuple, object] = {}
        self.money = _money(currency)

    def get(self, number_format: str | None = None, **style: object):
        key = (number_format, *sorted(style.items()))
        if key not in self._made:
            properties = dict(style)
            if number_format:
                properties["num_format"] = number_format
            self._made[key] = self.book.add_format(properties) if properties else None
        return self._made[key]


def _write(sheet: Worksheet, row: int, values: Iterable[object], formats: list) -> None:
    """One row, each value by its type (text always as text: never a formula), through the guard."""
    for column, value in enumerate(values):
        style = formats[column] if column < len(formats) else None
        if value is None:
            continue
        if isinstance(value, str):
            sheet.write_string(row, column, safe(value), style)  # type: ignore[arg-type]
        elif isinstance(value, bool):
            sheet.write_boolean(row, column, value, style)
        elif isinstance(value, int | float | Decimal):
            sheet.write_number(row, column, float(value), style)
        else:
            sheet.write_string(row, column, str(value), style)


def _sheet(
    book: Workbook,
    styles: _Styles,
    title: str,
    header: list[str],
    filtered_rows: int | None = None,
    column_formats: Sequence[object] = (),
):
    """A table sheet, set up before its first row is streamed: a styled header row frozen at the
    top, printed landscape a page wide with the header on every page, filters when asked."""
    sheet = book.add_worksheet(title)
    for index, name in enumerate(header):
        style = column_formats[index] if index < len(column_formats) else None
        sheet.set_column(index, index, max(12, len(name) + 4), style)
    sheet.freeze_panes(1, 0)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    if filtered_rows is not None:
        sheet.autofilter(0, 0, filtered_rows, len(header) - 1)
    _write(sheet, 0, header, [styles.get(**HEADER_STYLE)] * len(header))  # type: ignore[arg-type]
    return sheet


def _money(currency: str) -> str:
    return f'#,##0.00 "{currency}"'  # an ISO 4217 code: three capitals, safe inside the quotes


def _summary(book: Workbook, styles: _Styles, title: str, lines: list[Line]) -> None:
    """The first sheet: one printed page, portrait, what finance acts on first."""
    sheet = book.add_worksheet("Summary")
    sheet.set_column(0, 0, 52)
    sheet.set_column(1, 1, 70)
    sheet.set_portrait()
    sheet.fit_to_pages(1, 1)
    _write(sheet, 0, [title], [styles.get(bold=True, font_size=14)])
    formats = {MONEY: styles.money, PERCENT: PERCENT}
    for row, line in enumerate(lines, start=2):
        value_style = styles.get(
            formats.get(line.number_format or ""), text_wrap=True, valign="top", align="left"
        )
        _write(
            sheet,
            row,
            [line.label, "-" if line.value is None else line.value],
            [styles.get(bold=True), value_style],
        )


def _statistics(book: Workbook, styles: _Styles, plans: list[PlanStatistics], currency: str) -> None:
    header = ["Rate plan", "Devices before", "Devices after", "Cost before", "Cost after", "Savings"]
    sheet = _sheet(book, styles, "Statistics", header)
    money = styles.get(styles.money)
    formats = [None, None, None, money, money, money]
    for row, p in enumerate(plans, start=1):
        _write(
            sheet,
            row,
            [p.plan, p.devices_before, p.devices_after, p.cost_before, p.cost_after, p.savings],
            formats,
        )
    totals = [
        "Total",
        sum(p.devices_before for p in plans),
        sum(p.devices_after for p in plans),
        sum((p.cost_before for p in plans), Decimal(0)),
        sum((p.cost_after for p in plans), Decimal(0)),
        sum((p.savings for p in plans), Decimal(0)),
    ]
    bold, bold_money = styles.get(bold=True), styles.get(styles.money, bold=True)
    _write(sheet, len(plans) + 1, totals, [bold, bold, bold, bold_money, bold_money, bold_money])
    _write(sheet, len(plans) + 3, [ROUNDING_NOTE], [styles.get(italic=True)])
    if plans:
        chart = book.add_chart({"type": "column"})
        chart.add_series(
            {
                "name": ["Statistics", 0, 5],
                "categories": ["Statistics", 1, 0, len(plans), 0],
                "values": ["Statistics", 1, 5, len(plans), 5],
            }
        )
        chart.set_title({"name": "Savings per rate plan"})
        chart.set_y_axis({"name": f"Savings ({currency})"})
        chart.set_size({"width": 680, "height": 340})
        sheet.insert_chart("H2", chart)


def _realized(book: Workbook, styles: _Styles, realized: RealizedSheet, sheet_rows: int) -> None:
    sheet = _sheet(book, styles, "Realized savings", realized.month_columns)
    money, mb, percent = styles.get(styles.money), styles.get(MB), styles.get(PERCENT)
    month_formats = [None, None, None, money, money, money, money, money, mb, mb, percent]
    for row, values in enumerate(realized.months, start=1):
        _write(sheet, row, values, month_formats)
    row = len(realized.months) + 2
    room = max(0, sheet_rows - row - 2)
    shown = realized.devices[:room]
    note = f"Devices of {realized.devices_month}, the largest projection errors first"
    if len(shown) < len(realized.devices):
        note += f" ({len(shown):,} of {len(realized.devices):,}: the rest are in the AMOP database)"
    bold = styles.get(bold=True)
    _write(sheet, row, [note], [bold])
    _write(sheet, row + 1, realized.device_columns, [bold] * len(realized.device_columns))
    device_formats = [None, None, None, None, None, mb, mb, mb]
    for offset, values in enumerate(shown, start=row + 2):
        _write(sheet, offset, values, device_formats)


def write_report(
    folder: Path,
    file_name: str,
    title: str,
    summary: list[Line],
    plans: list[PlanStatistics],
    assignments: pl.DataFrame | Iterable[AssignmentRow],
    pools: list[PoolRow],
    currency: str = "USD",
    sheet_rows: int = SHEET_ROWS,
    realized: RealizedSheet | None = None,
) -> tuple[Path, str]:
    """Write the workbook (and the assignments CSV beside it) inside `folder`; returns the
    workbook's path and SHA-256. `assignments` is a frame of `reports.assignments.SCHEMA` (or
    rows); `sheet_rows` is Excel's limit (a test may make it smaller); `realized`, the earlier
    months' realized savings, adds their sheet."""
    folder = Path(folder).resolve()
    path = (folder / file_name).resolve()
    if path.parent != folder:
        raise ValueError(f"report file name '{file_name}' would leave the report folder")
    folder.mkdir(parents=True, exist_ok=True)
    if not isinstance(assignments, pl.DataFrame):
        assignments = assignments_frame(assignments)
    with no_cyclic_gc():  # 200,000 assignments in the month job: 30 s with it, 12 s without
        _write_files(path, title, summary, plans, assignments, pools, currency, sheet_rows, realized)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _write_files(
    path: Path,
    title: str,
    summary: list[Line],
    plans: list[PlanStatistics],
    assignments: pl.DataFrame,
    pools: list[PoolRow],
    currency: str,
    sheet_rows: int,
    realized: RealizedSheet | None,
) -> None:
    """The workbook with the Assignments sheets' headers by XlsxWriter, then their rows filled in
    (`assignments.fill_sheets`), and the CSV; both appear under their names only when complete."""
    rows = assignment_rows.in_report_order(assignments)
    partial_csv = path.with_name(f".{assignments_csv(path).name}.partial")
    assignment_rows.write_csv(rows, partial_csv)

    headers = path.with_name(f".{path.name}.headers")
    book = xlsxwriter.Workbook(str(headers), {"constant_memory": True, "strings_to_formulas": False})
    styles = _Styles(book, currency)
    _summary(book, styles, title, summary)
    _statistics(book, styles, plans, currency)
    per_sheet = sheet_rows - 1
    money, mb = styles.get(styles.money), styles.get(MB)
    column_formats = [None] * 6 + [mb, mb, money, money]
    parts: dict[str, pl.DataFrame] = {}
    for number in range(1, max(1, -(-rows.height // per_sheet)) + 1):
        part = rows.slice((number - 1) * per_sheet, per_sheet)
        name = "Assignments" if number == 1 else f"Assignments {number}"
        _sheet(book, styles, name, ASSIGNMENT_COLUMNS, part.height, column_formats)
        parts[name] = part
    pool_header = ["Pool", "Rate plan", "Devices", "Allowance MB", "Usage MB", "Overage MB", "Cost"]
    pool_sheet = _sheet(book, styles, "Shared Pool", pool_header)
    for row, p in enumerate(pools, start=1):
        values = [p.pool, p.plan, p.devices, p.allowance_mb, p.usage_mb, p.overage_mb, p.cost]
        _write(pool_sheet, row, values, [None, None, None, mb, mb, mb, money])
    if realized is not None:
        _realized(book, styles, realized, sheet_rows)
    book.close()

    # the column formats have their style numbers once the workbook is written
    cell_styles = {name: mb.xf_index for name in assignment_rows.MEGABYTES} | {
        name: money.xf_index for name in assignment_rows.MONEY
    }
    last_column = xl_col_to_name(len(ASSIGNMENT_COLUMNS) - 1)
    fills = {
        name: assignment_rows.SheetFill(
            assignment_rows.sheet_rows(part, 2, cell_styles), part.height + 1, last_column
        )
        for name, part in parts.items()
    }
    partial = path.with_name(f".{path.name}.partial")
    try:
        assignment_rows.fill_sheets(headers, partial, fills)
    finally:
        headers.unlink(missing_ok=True)
    partial_csv.replace(assignments_csv(path))
    partial.replace(path)
