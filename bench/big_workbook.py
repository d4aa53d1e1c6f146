"""A report for an account past Excel's row limit, opened by LibreOffice: every device on some sheet.

Writes the report of `--devices` synthetic assignments (the changed devices first, as the month
job writes them), then has LibreOffice (headless) open it and save every sheet as CSV, and counts
the devices it read on the Assignments sheets against those written.

Run: python bench/big_workbook.py --devices 1200000
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import polars as pl

from amop_pipelines.reports.assignments import SCHEMA
from amop_pipelines.reports.workbook import PlanStatistics, write_report


def _assignments(count: int) -> pl.DataFrame:
    """`count` devices as the month job's report reads them from the database."""
    plans = pl.Series(["J-POOL-20MB", "J-POOL-50MB", "J-PAYG"])
    i = pl.col("i")

    def hundredths(modulus: int) -> pl.Expr:
        return ((i % modulus).cast(pl.Decimal(18, 2)) / 100).cast(pl.Decimal(18, 2))

    return (
        pl.DataFrame({"i": range(count)})
        .select(
            iccid=pl.lit("8901260") + i.cast(pl.String).str.zfill(12),
            msisdn=pl.lit("1312") + i.cast(pl.String).str.zfill(7),
            communication_plan=pl.lit("CP-CORE"),
            current_plan=pl.lit(plans).gather(i % 3),
            recommended_plan=pl.lit(plans).gather((i // 7) % 3),
            usage_mb=hundredths(5000),
            projected_mb=hundredths(7000),
            cost_before=hundredths(900),
            cost_after=hundredths(800),
        )
        .cast(SCHEMA)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=1_200_000)
    args = parser.parse_args()
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise SystemExit("LibreOffice (soffice) is needed: apt-get install libreoffice-calc-nogui")
    with tempfile.TemporaryDirectory() as folder:
        assignments = _assignments(args.devices)
        plans = [PlanStatistics("J-POOL-20MB", args.devices, args.devices, Decimal(100), Decimal(90))]
        started = time.perf_counter()
        path, _ = write_report(Path(folder), "big.xlsx", "Big account", [], plans, assignments, [])
        written = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        size = path.stat().st_size / 2**20
        print(f"written: {args.devices:,} assignments in {written:.1f} s, {size:.0f} MB, peak {peak:,.0f} MB")
        out = Path(folder) / "csv"
        out.mkdir()
        started = time.perf_counter()
        # every sheet to its own CSV file (the filter's 12th token, -1), as LibreOffice reads the book
        done = subprocess.run(
            [
                soffice,
                "--headless",
                "--convert-to",
                "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                "--outdir",
                str(out),
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=3600,
        )
        opened = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        read = {}
        for sheet in sorted(out.glob("big-Assignments*.csv")):
            with sheet.open(newline="", encoding="utf-8") as handle:
                read[sheet.stem.removeprefix("big-")] = sum(1 for _ in csv.reader(handle)) - 1  # the header
        iccids = 0
        for sheet in out.glob("big-Assignments*.csv"):
            with sheet.open(newline="", encoding="utf-8") as handle:
                iccids += len({row[0] for row in csv.reader(handle)} - {"ICCID"})
        print(f"LibreOffice opened it and saved its sheets in {opened:.0f} s:")
        for sheet, rows in read.items():
            print(f"  {sheet}: {rows:,} devices")
        print(f"  {sum(read.values()):,} rows, {iccids:,} distinct ICCIDs, of {args.devices:,} written")
        if iccids != args.devices:
            sys.exit(1)


if __name__ == "__main__":
    main()
