"""The report workbook: sheets, formats, formula injection, folder confinement, LibreOffice."""

import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from amop_pipelines.reports.workbook import (
    MONEY,
    PERCENT,
    AssignmentRow,
    Line,
    PlanStatistics,
    PoolRow,
    write_report,
)

SUMMARY = [
    Line("Billing period closes", "2026-12-18 00:00 America/Chicago"),
    Line("Cost before (current plans, projected usage)", Decimal("16.00"), MONEY),
    Line("Cost after (recommended plans, projected usage)", Decimal("14.25"), MONEY),
    Line("Savings", Decimal("1.75"), MONEY),
    Line("Savings %", 0.109375, PERCENT),
    Line("Next step", "Go"),
    Line("What happens next", "Go: the 1 plan changes are queued for the carrier right after this report."),
    Line("Lower bound on the cost after (same basis)", Decimal("14.20"), MONEY),
    Line("Gap to the lower bound", 0.0035, PERCENT),
]


def _report(folder, name="report.xlsx"):
    plans = [
        PlanStatistics("P-1MB", 10, 4, Decimal("12.50"), Decimal("5.00")),
        PlanStatistics("P-5MB", 2, 8, Decimal("3.50"), Decimal("9.25")),
    ]
    assignments = [
        AssignmentRow(
            "8901260000000000003",
            None,
            "CP-A",
            "P-5MB",
            "P-5MB",
            Decimal("2"),
            Decimal("4"),
            Decimal("1.00"),
            Decimal("1.00"),
        ),
        AssignmentRow(
            "8901260000000000001",
            '=HYPERLINK("http://x")',
            "CP-A",
            "P-1MB",
            "P-5MB",
            Decimal("1.5"),
            Decimal("3"),
            Decimal("1.25"),
            Decimal("1.10"),
        ),
        AssignmentRow(
            "8901260000000000002",
            "+123",
            "@SUM(A1)",
            None,
            "P-1MB",
            Decimal("0"),
            Decimal("0"),
            None,
            Decimal("0.50"),
        ),
    ]
    pools = [PoolRow("shared", "P-5MB", 8, Decimal("40"), Decimal("38.5"), Decimal("0"), Decimal("9.25"))]
    return write_report(
        folder, name, "Test, billing month 2026-12", SUMMARY, plans, assignments, pools, "EUR"
    )


def test_sheets_formats_and_no_formulas_from_data(tmp_path):
    path, digest = _report(tmp_path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "Statistics", "Assignments", "Shared Pool"]
    assignments = book["Assignments"]
    assert assignments.freeze_panes == "A2"
    assert (
        assignments["I2"].number_format == '#,##0.00 "EUR"' and assignments["G2"].number_format == "#,##0.000"
    )
    # text that would run as a formula stays text
    assert assignments["B2"].value.startswith("'=") and assignments["B3"].value == "'+123"
    assert assignments["C3"].value == "'@SUM(A1)"
    assert all(cell.data_type != "f" for row in assignments.iter_rows() for cell in row)
    assert book["Statistics"]._charts and len(digest) == 64


def test_the_summary_shows_money_as_numbers_in_the_accounts_currency(tmp_path):
    path, _ = _report(tmp_path)
    summary = {row[0].value: row[1] for row in openpyxl.load_workbook(path)["Summary"].iter_rows(min_row=3)}
    savings, share = summary["Savings"], summary["Savings %"]
    assert savings.value == 1.75 and savings.number_format == '#,##0.00 "EUR"'
    assert share.value == 0.109375 and share.number_format == "0.00%"
    assert summary["Gap to the lower bound"].value == 0.0035


def test_statistics_end_with_a_totals_row(tmp_path):
    path, _ = _report(tmp_path)
    rows = list(openpyxl.load_workbook(path)["Statistics"].iter_rows(min_row=2, max_col=6, values_only=True))
    total = next(row for row in rows if row[0] == "Total")
    assert total == ("Total", 12, 12, 16.0, 14.25, 1.75)


def test_assignments_list_the_changed_devices_first_with_a_flag_and_filters(tmp_path):
    path, _ = _report(tmp_path)
    sheet = openpyxl.load_workbook(path)["Assignments"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [row[5] for row in rows] == ["yes", "yes", "no"]  # changed first
    assert rows[-1][0] == "8901260000000000003" and rows[-1][3] == rows[-1][4]
    assert sheet["F1"].value == "Changed" and sheet.auto_filter.ref == "A1:J4"


def test_a_report_never_leaves_its_folder(tmp_path):
    with pytest.raises(ValueError, match="leave the report folder"):
        _report(tmp_path / "reports", "../escaped.xlsx")
    assert not (tmp_path / "escaped.xlsx").exists()


needs_libreoffice = pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"), reason="LibreOffice not installed"
)
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftoppm") is None and not os.environ.get("CI"), reason="poppler-utils not installed"
)
ARTIFACTS = Path(
    os.environ.get("AMOP_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


# CSV of every sheet (the filter's last token, -1), UTF-8, values as stored rather than as shown
EVERY_SHEET_AS_CSV = "Text - txt - csv (StarCalc):44,34,76,1,,0,false,false,false,false,false,-1"


def _convert(path: Path, to: str, tmp_path: Path, sheet: str | None = None) -> Path:
    """LibreOffice headless, with a profile of its own so that parallel runs do not collide; with
    `sheet`, every sheet saved as CSV and that sheet's file returned."""
    result = subprocess.run(
        [
            "soffice",
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--convert-to",
            f"{to}:{EVERY_SHEET_AS_CSV}" if sheet else to,
            "--outdir",
            str(tmp_path / "out"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return tmp_path / "out" / (f"{path.stem}-{sheet}.{to}" if sheet else f"{path.stem}.{to}")


@needs_libreoffice
def test_libreoffice_opens_the_workbook(tmp_path):
    path, _ = _report(tmp_path)
    text = _convert(path, "csv", tmp_path).read_text()  # the first sheet
    assert "Billing period closes" in text and "14.25" in text


def _page_text(pdf: Path, page: int) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@needs_libreoffice
@needs_poppler
def test_page_one_tells_finance_the_totals_the_deadline_and_the_next_step(tmp_path):
    """Printed (converted to PDF by LibreOffice), the first page is the Summary: the money in the
    account's currency, savings as an amount and a percent, the billing close, Go or No Go and
    what happens next, the bound as a gap on the same basis."""
    path, _ = _report(tmp_path)
    pdf = _convert(path, "pdf", tmp_path)
    first = _page_text(pdf, 1)
    for words in (
        "Test, billing month 2026-12",
        "16.00 EUR",
        "14.25 EUR",
        "1.75 EUR",
        "10.94%",
        "2026-12-18 00:00 America/Chicago",
        "Go: the 1 plan changes are queued",
        "Gap to the lower bound",
        "0.35%",
    ):
        assert words in first, (words, first)
    assert "Rate plan" not in first  # the per-plan table comes after


@needs_libreoffice
@needs_poppler
def test_the_report_renders_its_sheets_and_the_chart(tmp_path):
    """As a reader sees it: converted to PDF by LibreOffice, the Statistics page rendered to PNG
    by poppler: the statistics table, its totals and the savings chart on one landscape page."""
    from PIL import Image

    path, _ = _report(tmp_path)
    pdf = _convert(path, "pdf", tmp_path)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) == 4  # a page a sheet
    second = _page_text(pdf, 2)
    for words in ("Rate plan", "Devices before", "P-1MB", "P-5MB", "Total", "Savings per rate plan"):
        assert words in second, words
    subprocess.run(
        ["pdftoppm", "-r", "100", "-png", "-f", "2", "-l", "2", str(pdf), str(tmp_path / "page")], check=True
    )
    (png,) = tmp_path.glob("page*.png")
    image = Image.open(png).convert("RGB")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    image.save(ARTIFACTS / "report-statistics.png")
    assert image.width > image.height  # landscape
    pixels = list(image.get_flattened_data())
    bars = sum(1 for r, g, b in pixels if b > 150 and b - r > 60)  # the chart's bars
    assert bars > 1000, "the savings chart did not render"


def test_every_text_cell_of_every_sheet_stays_text(tmp_path):
    """The title (from the provider's name), the summary labels and every data field can come
    from outside: none of them may become a live formula."""
    hostile = '=HYPERLINK("http://evil","x")'
    plans = [PlanStatistics(hostile, 1, 1, Decimal("1"), Decimal("1"))]
    assignments = [
        AssignmentRow(hostile, hostile, hostile, hostile, hostile, Decimal("1"), Decimal("1"), None, None)
    ]
    pools = [PoolRow(hostile, hostile, 1, Decimal("1"), Decimal("1"), Decimal("0"), Decimal("1"))]
    path, _ = write_report(tmp_path, "r.xlsx", hostile, [Line(hostile, hostile)], plans, assignments, pools)
    book = openpyxl.load_workbook(path)
    texts = [c for sheet in book for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert sum(c.value == "'" + hostile for c in texts) >= 10  # title and label included
    assert [c.coordinate for c in texts if c.data_type == "f" or c.value.startswith("=")] == []


def test_past_the_sheet_row_limit_assignments_continue_on_further_sheets_and_all_go_to_the_csv(tmp_path):
    """Excel holds 1,048,576 rows a sheet: a larger account's Assignments continue on "Assignments
    2", ... (each with its header and filters), the changed devices first across them, and every
    device is also in the CSV beside the workbook. Here with a limit of 11 rows a sheet."""
    import csv

    from amop_pipelines.reports.workbook import assignments_csv

    rows = [
        AssignmentRow(
            f"89012600000000{n:05d}",
            None,
            "CP-A",
            "P-1MB",
            "P-5MB" if n % 3 == 0 else "P-1MB",  # every third device changes plan
            Decimal("1"),
            Decimal("2"),
            Decimal("1.00"),
            Decimal("0.90"),
        )
        for n in range(25)
    ]
    path, _ = write_report(tmp_path, "big.xlsx", "t", SUMMARY, [], rows, [], sheet_rows=11)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "Summary",
        "Statistics",
        "Assignments",
        "Assignments 2",
        "Assignments 3",
        "Shared Pool",
    ]
    listed = []
    for name in ("Assignments", "Assignments 2", "Assignments 3"):
        sheet = book[name]
        values = list(sheet.iter_rows(values_only=True))
        assert values[0][0] == "ICCID" and len(values) <= 11
        assert sheet.auto_filter.ref == f"A1:J{len(values)}"
        listed += [(row[0], row[5]) for row in values[1:]]
    changed = sorted(r.iccid for r in rows if r.changed)
    assert listed == [(i, "yes") for i in changed] + [
        (r.iccid, "no") for r in sorted(rows, key=lambda r: r.iccid) if not r.changed
    ]
    with assignments_csv(path).open(newline="") as handle:
        in_csv = list(csv.reader(handle))
    assert in_csv[0][:2] == ["ICCID", "MSISDN"] and [(r[0], r[5]) for r in in_csv[1:]] == listed


# text a carrier or an operator could put in a name: XML's own characters, blanks at the ends,
# control characters, a literal escape sequence, other scripts, CSV's quote and separator, formulas
AWKWARD = [
    *("a & b <c>", " lead", "trail ", "ctl\x01x\x1f", "_x0041_"),
    *("tab\there", "é ü 日本", '"q", x', "=1+1"),
]


def _awkward_rows() -> list[AssignmentRow]:
    return [
        AssignmentRow(
            f"89012600000000{n:05d}",
            text,
            text,
            None if n % 4 == 0 else text,
            "P-" + text,
            Decimal(n) / 7,  # quantized by the frame to the column's 6 decimals
            Decimal("0.000001"),
            None if n % 3 == 0 else Decimal("12345678.1234"),
            Decimal(n) / 100,
        )
        for n, text in enumerate(AWKWARD)
    ]


def _cells(path: Path, sheet: str) -> list[list[tuple]]:
    """Every cell of a sheet as openpyxl reads the file: (value, number format)."""
    rows = openpyxl.load_workbook(path)[sheet].iter_rows()
    return [[(cell.value, cell.number_format) for cell in row] for row in rows]


def test_assignment_cells_are_the_cells_xlsxwriter_writes_for_the_same_values(tmp_path):
    """The Assignments are filled in column-wise, not by XlsxWriter: cell for cell (value, type
    and number format, escapes included) they read back as XlsxWriter's own per-cell writing of the
    same rows does."""
    import xlsxwriter

    from amop_pipelines.reports.assignments import assignments_frame, in_report_order
    from amop_pipelines.reports.workbook import ASSIGNMENT_COLUMNS

    path, _ = write_report(tmp_path, "filled.xlsx", "t", SUMMARY, [], _awkward_rows(), [], "EUR")

    reference = tmp_path / "reference.xlsx"
    book = xlsxwriter.Workbook(str(reference), {"constant_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("Assignments")
    header = book.add_format({"bold": True})
    mb = book.add_format({"num_format": "#,##0.000"})
    money = book.add_format({"num_format": '#,##0.00 "EUR"'})
    formats = [None] * 6 + [mb, mb, money, money]
    sheet.write_row(0, 0, ASSIGNMENT_COLUMNS, header)
    for r, values in enumerate(in_report_order(assignments_frame(_awkward_rows())).rows(), start=1):
        for c, value in enumerate(values):
            if isinstance(value, str):
                sheet.write_string(r, c, value, formats[c])
            elif value is not None:
                sheet.write_number(r, c, float(value), formats[c])
    book.close()

    ours, theirs = _cells(path, "Assignments"), _cells(reference, "Assignments")
    assert ours[1:] == theirs[1:]
    assert any(value == "ctl_x0001_x_x001F_" for row in ours for value, _ in row)  # escaped as Excel does
    assert len(ours) == len(AWKWARD) + 1


@needs_libreoffice
def test_libreoffice_reads_the_assignments_sheet_as_the_csv_beside_it_says(tmp_path):
    """An independent reader: LibreOffice opens the workbook and saves its Assignments sheet; the
    text it read is the CSV's, escapes undone, and its numbers are the CSV's amounts."""
    import csv

    from amop_pipelines.reports.workbook import assignments_csv

    rows = [row for row in _awkward_rows() if "\x01" not in row.msisdn]  # LibreOffice drops controls
    path, _ = write_report(tmp_path, "awkward.xlsx", "t", SUMMARY, [], rows, [], "EUR")
    with _convert(path, "csv", tmp_path, sheet="Assignments").open(newline="", encoding="utf-8") as handle:
        read = list(csv.reader(handle))
    with assignments_csv(path).open(newline="", encoding="utf-8") as handle:
        written = list(csv.reader(handle))
    assert len(read) == len(rows) + 1 and read[0] == written[0]
    for seen, wrote in zip(read[1:], written[1:], strict=True):
        assert seen[:6] == wrote[:6]  # text, the formula guard's quote included
        assert [Decimal(v) if v else None for v in seen[6:]] == [Decimal(v) if v else None for v in wrote[6:]]
