"""The report workbook: sheets, formats, formula injection, folder confinement, LibreOffice."""

import os
import shutil
import subprocess
from decimal import Decimal

import openpyxl
import pytest

from amop_pipelines.reports.workbook import AssignmentRow, PlanStatistics, PoolRow, write_report


def _report(folder, name="report.xlsx"):
    plans = [
        PlanStatistics("P-1MB", 10, 4, Decimal("12.50"), Decimal("5.00")),
        PlanStatistics("P-5MB", 2, 8, Decimal("3.50"), Decimal("9.25")),
    ]
    assignments = [
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
        folder, name, "Test, billing month 2026-12", [("Savings", Decimal("6.75"))], plans, assignments, pools
    )


def test_sheets_formats_and_no_formulas_from_data(tmp_path):
    path, digest = _report(tmp_path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Statistics", "Assignments", "Shared Pool"]
    assignments = book["Assignments"]
    assert assignments.freeze_panes == "A2"
    assert assignments["H2"].number_format == "#,##0.00" and assignments["F2"].number_format == "#,##0.000"
    # text that would run as a formula stays text
    assert assignments["B2"].value.startswith("'=") and assignments["B3"].value == "'+123"
    assert assignments["C3"].value == "'@SUM(A1)"
    assert all(cell.data_type != "f" for row in assignments.iter_rows() for cell in row)
    assert book["Statistics"]._charts and len(digest) == 64


def test_a_report_never_leaves_its_folder(tmp_path):
    with pytest.raises(ValueError, match="leave the report folder"):
        _report(tmp_path / "reports", "../escaped.xlsx")
    assert not (tmp_path / "escaped.xlsx").exists()


@pytest.mark.skipif(
    shutil.which("soffice") is None and not os.environ.get("CI"), reason="LibreOffice not installed"
)
def test_libreoffice_opens_the_workbook(tmp_path):
    path, _ = _report(tmp_path)
    result = subprocess.run(
        [
            "soffice",
            "--headless",
            "--norestore",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--convert-to",
            "csv",
            "--outdir",
            str(tmp_path / "out"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "out" / "report.csv").read_text()
    assert "P-1MB" in text and "Devices before" in text
