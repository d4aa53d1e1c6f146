"""The optimization report, as finance reads it: a Summary sheet first (the totals in the account's
currency, savings as an amount and a percent, the billing close in the account's zone, what happens
next, the lower bound as a gap on the same basis), then Statistics per rate plan with a totals row
and a savings chart, Assignments with the changed devices first (a Changed column, filters),
Shared Pool, and Realized savings when earlier months have been priced after their close.

The workbook is written streaming (openpyxl's write-only mode: rows go to the file as they come,
no cell objects kept), so that a million devices fit in memory. Past Excel's row limit the
Assignments continue on further sheets ("Assignments 2", ...), and the whole list is also written
as a CSV file beside the workbook (`assignments_csv`), the same columns.

Cells that a spreadsheet would take for a formula (text starting with =, +, -, @) are written
with a leading apostrophe-quote so they stay text (CSV/formula injection), in the CSV file too.
Files are written only inside the report folder they are given.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

MONEY = "#,##0.00"
MB = "#,##0.000"
PERCENT = "0.00%"
ROUNDING_NOTE = (
    "Per-plan figures are shares of pooled costs, each rounded to cents: their total may differ "
    "from the Summary's exact totals by a few cents."
)
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
HEADER_FONT = Font(bold=True, color="FFFFFF")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection list
SHEET_ROWS = 1_048_576  # Excel's rows per sheet, the header included
ASSIGNMENT_COLUMNS = [
    "ICCID",
    "MSISDN",
    "Communication plan",
    "Current plan",
    "Recommended plan",
    "Changed",
    "Usage MB (to date)",
    "Projected MB",
    "Cost before",
    "Cost after",
]


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
class AssignmentRow:
    iccid: str
    msisdn: str | None
    communication_plan: str
    current_plan: str | None
    recommended_plan: str
    usage_mb: Decimal
    projected_mb: Decimal
    cost_before: Decimal | None
    cost_after: Decimal

    @property
    def changed(self) -> bool:
        return self.current_plan != self.recommended_plan


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


def safe(value: object) -> object:
    """Text that would start a formula is kept as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def assignments_csv(report: Path) -> Path:
    """The CSV file of every assignment, beside the workbook `report`."""
    return report.with_name(report.stem + "-assignments.csv")


def _cell(sheet, value: object, number_format: str | None = None, font: Font | None = None):
    """A streamed cell, through the formula guard."""
    cell = WriteOnlyCell(sheet, value=safe(value))
    if number_format and value is not None:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    return cell


def _sheet(book: Workbook, title: str, header: list[str], filtered_rows: int | None = None):
    """A table sheet, set up before its first row is streamed: a styled header row frozen at the
    top, printed landscape a page wide with the header on every page, filters when asked."""
    sheet = book.create_sheet(title)
    for index, name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(name) + 4)
    sheet.freeze_panes = "A2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    if filtered_rows is not None:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{filtered_rows + 1}"
    cells = []
    for name in header:
        cell = _cell(sheet, name, font=HEADER_FONT)
        cell.fill, cell.alignment = HEADER_FILL, Alignment(horizontal="center")
        cells.append(cell)
    sheet.append(cells)
    return sheet


def _rows(sheet, rows: Iterable[list], formats: dict[int, str], font: Font | None = None) -> None:
    for row in rows:
        sheet.append([_cell(sheet, value, formats.get(column), font) for column, value in enumerate(row, 1)])


def _money(currency: str) -> str:
    return f'#,##0.00 "{currency}"'  # an ISO 4217 code: three capitals, safe inside the quotes


def _summary(book: Workbook, title: str, lines: list[Line], currency: str) -> None:
    """The first sheet: one printed page, portrait, what finance acts on first."""
    sheet = book.create_sheet("Summary")
    sheet.column_dimensions["A"].width = 52
    sheet.column_dimensions["B"].width = 70
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.append([_cell(sheet, title, font=Font(bold=True, size=14))])
    sheet.append([])
    formats = {MONEY: _money(currency), PERCENT: PERCENT}
    for line in lines:
        value = _cell(sheet, "-" if line.value is None else line.value, formats.get(line.number_format or ""))
        value.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
        sheet.append([_cell(sheet, line.label, font=Font(bold=True)), value])


def _assignment_rows(assignments: list[AssignmentRow]) -> Iterator[list]:
    for a in sorted(assignments, key=lambda a: (not a.changed, a.iccid)):  # the changes first
        yield [
            a.iccid,
            a.msisdn,
            a.communication_plan,
            a.current_plan,
            a.recommended_plan,
            "yes" if a.changed else "no",
            a.usage_mb,
            a.projected_mb,
            a.cost_before,
            a.cost_after,
        ]


def _realized(book: Workbook, realized: RealizedSheet, money: str, sheet_rows: int) -> None:
    sheet = _sheet(book, "Realized savings", realized.month_columns)
    _rows(
        sheet, realized.months, {4: money, 5: money, 6: money, 7: money, 8: money, 9: MB, 10: MB, 11: PERCENT}
    )
    sheet.append([])
    room = max(0, sheet_rows - len(realized.months) - 5)
    shown = realized.devices[:room]
    note = f"Devices of {realized.devices_month}, the largest projection errors first"
    if len(shown) < len(realized.devices):
        note += f" ({len(shown):,} of {len(realized.devices):,}: the rest are in the AMOP database)"
    sheet.append([_cell(sheet, note, font=Font(bold=True))])
    _rows(sheet, [realized.device_columns], {}, font=Font(bold=True))
    _rows(sheet, shown, {6: MB, 7: MB, 8: MB})


def write_report(
    folder: Path,
    file_name: str,
    title: str,
    summary: list[Line],
    plans: list[PlanStatistics],
    assignments: list[AssignmentRow],
    pools: list[PoolRow],
    currency: str = "USD",
    sheet_rows: int = SHEET_ROWS,
    realized: RealizedSheet | None = None,
) -> tuple[Path, str]:
    """Write the workbook (and the assignments CSV beside it) inside `folder`; returns the
    workbook's path and SHA-256. `sheet_rows` is Excel's limit (a test may make it smaller);
    `realized`, the earlier months' realized savings, adds their sheet."""
    folder = Path(folder).resolve()
    path = (folder / file_name).resolve()
    if path.parent != folder:
        raise ValueError(f"report file name '{file_name}' would leave the report folder")
    folder.mkdir(parents=True, exist_ok=True)
    book = Workbook(write_only=True)
    _summary(book, title, summary, currency)
    money = _money(currency)
    stats = _sheet(
        book,
        "Statistics",
        ["Rate plan", "Devices before", "Devices after", "Cost before", "Cost after", "Savings"],
    )
    if plans:
        chart = BarChart()
        chart.title = "Savings per rate plan"
        chart.y_axis.title = f"Savings ({currency})"
        chart.add_data(Reference(stats, min_col=6, min_row=1, max_row=len(plans) + 1), titles_from_data=True)
        chart.set_categories(Reference(stats, min_col=1, min_row=2, max_row=len(plans) + 1))
        chart.height, chart.width = 9, 18
        stats.add_chart(chart, "H2")
    plan_formats = {4: money, 5: money, 6: money}
    _rows(
        stats,
        ([p.plan, p.devices_before, p.devices_after, p.cost_before, p.cost_after, p.savings] for p in plans),
        plan_formats,
    )
    totals = [
        "Total",
        sum(p.devices_before for p in plans),
        sum(p.devices_after for p in plans),
        sum((p.cost_before for p in plans), Decimal(0)),
        sum((p.cost_after for p in plans), Decimal(0)),
        sum((p.savings for p in plans), Decimal(0)),
    ]
    _rows(stats, [totals], plan_formats, font=Font(bold=True))
    stats.append([])
    stats.append([_cell(stats, ROUNDING_NOTE, font=Font(italic=True))])

    per_sheet = sheet_rows - 1
    sheets = max(1, -(-len(assignments) // per_sheet))
    formats = {7: MB, 8: MB, 9: money, 10: money}
    rows = _assignment_rows(assignments)
    partial_csv = path.with_name(f".{assignments_csv(path).name}.partial")
    with partial_csv.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ASSIGNMENT_COLUMNS)
        for number in range(1, sheets + 1):
            count = min(per_sheet, len(assignments) - (number - 1) * per_sheet)
            title_of = "Assignments" if number == 1 else f"Assignments {number}"
            sheet = _sheet(book, title_of, ASSIGNMENT_COLUMNS, filtered_rows=count)
            for _ in range(count):
                row = next(rows)
                writer.writerow([safe(value) for value in row])
                sheet.append(
                    [_cell(sheet, value, formats.get(column)) for column, value in enumerate(row, 1)]
                )
    pool_sheet = _sheet(
        book,
        "Shared Pool",
        ["Pool", "Rate plan", "Devices", "Allowance MB", "Usage MB", "Overage MB", "Cost"],
    )
    _rows(
        pool_sheet,
        ([p.pool, p.plan, p.devices, p.allowance_mb, p.usage_mb, p.overage_mb, p.cost] for p in pools),
        {4: MB, 5: MB, 6: MB, 7: money},
    )
    if realized is not None:
        _realized(book, realized, money, sheet_rows)
    partial = path.with_name(f".{path.name}.partial")
    book.save(partial)
    partial_csv.replace(assignments_csv(path))
    partial.replace(path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()
