"""The optimization report, as finance reads it: a Summary sheet first (the totals in the account's
currency, savings as an amount and a percent, the billing close in the account's zone, what happens
next, the lower bound as a gap on the same basis), then Statistics per rate plan with a totals row
and a savings chart, Assignments with the changed devices first (a Changed column, filters) and
Shared Pool.

Cells that a spreadsheet would take for a formula (text starting with =, +, -, @) are written
with a leading apostrophe-quote so they stay text (CSV/formula injection). Files are written only
inside the report folder they are given.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
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


def _put(sheet, row: int, column: int, value: object):
    """The one way a single cell is written outside a table: through the formula guard."""
    return sheet.cell(row=row, column=column, value=safe(value))


def _sheet(book: Workbook, title: str, header: list[str], rows: list[list], formats: dict[int, str]):
    sheet = book.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(horizontal="center")
    for row in rows:
        sheet.append([safe(value) for value in row])
    for column, number_format in formats.items():
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell.number_format = number_format
    for index, name in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(name) + 4)
    sheet.freeze_panes = "A2"
    # printed (or converted to PDF) landscape, a page wide, the header row on every page
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    return sheet


def _money(currency: str) -> str:
    return f'#,##0.00 "{currency}"'  # an ISO 4217 code: three capitals, safe inside the quotes


def _summary(book: Workbook, title: str, lines: list[Line], currency: str) -> None:
    """The first sheet: one printed page, portrait, what finance acts on first."""
    sheet = book.create_sheet("Summary")
    _put(sheet, 1, 1, title).font = Font(bold=True, size=14)
    for row, line in enumerate(lines, start=3):
        _put(sheet, row, 1, line.label).font = Font(bold=True)
        cell = _put(sheet, row, 2, "-" if line.value is None else line.value)
        if line.value is not None and line.number_format == MONEY:
            cell.number_format = _money(currency)
        elif line.value is not None and line.number_format == PERCENT:
            cell.number_format = PERCENT
        cell.alignment = Alignment(wrap_text=True, vertical="top", horizontal="left")
    sheet.column_dimensions["A"].width = 52
    sheet.column_dimensions["B"].width = 70
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def write_report(
    folder: Path,
    file_name: str,
    title: str,
    summary: list[Line],
    plans: list[PlanStatistics],
    assignments: list[AssignmentRow],
    pools: list[PoolRow],
    currency: str = "USD",
) -> tuple[Path, str]:
    """Write the workbook inside `folder`; returns its path and SHA-256."""
    folder = Path(folder).resolve()
    path = (folder / file_name).resolve()
    if path.parent != folder:
        raise ValueError(f"report file name '{file_name}' would leave the report folder")
    folder.mkdir(parents=True, exist_ok=True)
    book = Workbook()
    book.remove(book.active)
    _summary(book, title, summary, currency)
    money = _money(currency)
    stats = _sheet(
        book,
        "Statistics",
        ["Rate plan", "Devices before", "Devices after", "Cost before", "Cost after", "Savings"],
        [[p.plan, p.devices_before, p.devices_after, p.cost_before, p.cost_after, p.savings] for p in plans],
        {4: money, 5: money, 6: money},
    )
    totals = [
        "Total",
        sum(p.devices_before for p in plans),
        sum(p.devices_after for p in plans),
        sum((p.cost_before for p in plans), Decimal(0)),
        sum((p.cost_after for p in plans), Decimal(0)),
        sum((p.savings for p in plans), Decimal(0)),
    ]
    stats.append(totals)
    for cell in stats[stats.max_row]:
        cell.font = Font(bold=True)
        if cell.column >= 4:
            cell.number_format = money
    _put(stats, stats.max_row + 2, 1, ROUNDING_NOTE).font = Font(italic=True)
    if plans:
        chart = BarChart()
        chart.title = "Savings per rate plan"
        chart.y_axis.title = f"Savings ({currency})"
        chart.add_data(Reference(stats, min_col=6, min_row=1, max_row=len(plans) + 1), titles_from_data=True)
        chart.set_categories(Reference(stats, min_col=1, min_row=2, max_row=len(plans) + 1))
        chart.height, chart.width = 9, 18
        stats.add_chart(chart, "H2")
    ordered = sorted(assignments, key=lambda a: (not a.changed, a.iccid))  # the changes first
    sheet = _sheet(
        book,
        "Assignments",
        [
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
        ],
        [
            [
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
            for a in ordered
        ],
        {7: MB, 8: MB, 9: money, 10: money},
    )
    sheet.auto_filter.ref = f"A1:J{len(ordered) + 1}"
    _sheet(
        book,
        "Shared Pool",
        ["Pool", "Rate plan", "Devices", "Allowance MB", "Usage MB", "Overage MB", "Cost"],
        [[p.pool, p.plan, p.devices, p.allowance_mb, p.usage_mb, p.overage_mb, p.cost] for p in pools],
        {4: MB, 5: MB, 6: MB, 7: money},
    )
    partial = path.with_name(f".{path.name}.partial")
    book.save(partial)
    partial.replace(path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()
