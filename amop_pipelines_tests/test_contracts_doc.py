"""docs/CONTRACTS.md says what the code reads and writes: every contract's columns in their order,
every change type with its required and optional columns."""

import re
from pathlib import Path

from amop_pipelines.changes.administration import EXPORT_COLUMNS
from amop_pipelines.changes.registry import CHANGE_TYPES
from amop_pipelines.contracts import ASSIGNMENTS_COLUMNS, DEVICES_COLUMNS, PLANS_COLUMNS

DOC = (Path(__file__).resolve().parents[1] / "docs" / "CONTRACTS.md").read_text()


def _section(title: str) -> str:
    start = DOC.index(f"## {title}")
    end = DOC.find("\n## ", start + 1)
    return DOC[start : end if end > 0 else None]


def _first_column(section: str) -> list[str]:
    return re.findall(r"^\| `([a-z_]+)` \|", section, re.MULTILINE)


def test_the_optimizer_files_are_documented_column_by_column_in_order():
    assert _first_column(_section("plans.csv")) == list(PLANS_COLUMNS)
    assert _first_column(_section("devices.csv")) == list(DEVICES_COLUMNS)
    assignments = _section("assignments.csv")
    assert all(f"`{column}`" in assignments for column in ASSIGNMENTS_COLUMNS)
    outcomes = _section("Change outcomes")
    assert re.findall(r"`([a-z_]+)`", outcomes.split("\n", 2)[2])[: len(EXPORT_COLUMNS)] == list(
        EXPORT_COLUMNS
    )


def test_every_change_type_is_documented_with_its_required_and_optional_columns():
    rows = {
        name: (re.findall(r"`([a-z_]+)`", required), re.findall(r"`([a-z_]+)`", optional))
        for name, required, optional in re.findall(
            r"^\| `([a-z_]+)` \|(.*?)\|(.*?)\|$", _section("Change files"), re.MULTILINE
        )
    }
    assert set(rows) == set(CHANGE_TYPES)
    for name, spec in CHANGE_TYPES.items():
        assert rows[name] == (
            [c.name for c in spec.columns if c.required],
            [c.name for c in spec.columns if not c.required],
        ), name
