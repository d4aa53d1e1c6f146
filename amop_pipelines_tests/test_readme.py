"""The README's two commands, run literally as a newcomer would: in a copy of the project with no
virtual environment, from the commands' own text in README.md (the same markers `.ci/run` reads)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LEFT_BEHIND = (
    ".venv",
    "data",
    "test-artifacts",
    ".git",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    "bench/out",
)


def readme_command(marker: str) -> str:
    """The fenced block that follows `<!-- marker -->` in README.md."""
    text = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- {re.escape(marker)} -->\s*```bash\n(.*?)\n```", text, re.DOTALL)
    assert found, f"README.md has no {marker} block"
    return found.group(1).strip()


def _newcomer_env() -> dict[str, str]:
    """A shell without this checkout's virtual environment or any AMOP/Dagster setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMOP_", "DAGSTER_"))}
    venv = env.pop("VIRTUAL_ENV", None)
    if venv:
        env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not p.startswith(venv))
    env.pop("PYTEST_ADDOPTS", None)
    return env


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("newcomer") / "amop-pipelines"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*LEFT_BEHIND))
    return copy


def test_the_main_command_installs_and_prints_savings_and_the_report_paths(fresh_copy):
    command = readme_command("main-command")
    assert command.startswith("python3 -m venv .venv") and command.endswith("amop demo")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=fresh_copy,
        env=_newcomer_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    savings = re.findall(r"^(.+): savings (\S+) .*$", result.stdout, re.MULTILINE)
    reports = [Path(p) for p in re.findall(r"report: (/\S+\.xlsx)", result.stdout)]
    assert len(savings) == 2 and len(reports) == 2, result.stdout[-3000:]
    for report in reports:
        assert report.is_absolute() and report.is_file() and report.is_relative_to(fresh_copy / "data")


def test_the_test_command_installs_and_runs_the_suite(fresh_copy):
    """Literally the README's test command; the suite is narrowed by pytest's own environment
    variable to two quick modules, since `.ci/run` runs this same command over all of it."""
    command = readme_command("test-command")
    # the layers (import-linter contracts in .importlinter) and the declared dependencies (deptry)
    # are checked beside ruff, before the tests
    assert command.endswith("ruff check . && lint-imports && deptry . && pytest")
    env = _newcomer_env() | {
        "PYTEST_ADDOPTS": "amop_pipelines_tests/test_billing.py amop_pipelines_tests/test_identifiers.py"
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", command],
        cwd=fresh_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"\d+ passed", result.stdout) and "failed" not in result.stdout
    assert "Contracts: 6 kept, 0 broken." in result.stdout
    assert "No dependency issues found" in result.stdout + result.stderr
