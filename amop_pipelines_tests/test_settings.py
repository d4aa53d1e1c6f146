"""Settings: declared once, read only by the settings module, refused by name when malformed."""

import ast
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from amop_pipelines import settings
from amop_pipelines.carriers.registry import CARRIERS
from amop_pipelines.cli import main
from amop_pipelines.defs.shared.notifier import notifier_from_env

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "amop_pipelines"


def _reads_environment(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("environ", "getenv", "environb")
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        ):
            return True
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in ("environ", "getenv") for alias in node.names)
        ):
            return True
    return False


def test_only_the_settings_module_reads_the_environment():
    readers = sorted(
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if path.name != "settings.py" and _reads_environment(ast.parse(path.read_text()))
    )
    # the simulator is a stand-in for the carriers and reads none; the CLI's options name their
    # variables through click (envvar=), which is click reading them, not our code
    assert readers == []


def test_the_guide_lists_every_setting_and_no_other():
    guide = (ROOT / "docs" / "GUIDE.md").read_text()
    table = guide[guide.index("## Settings") : guide.index("Per carrier account")]
    listed = set(re.findall(r"`((?:AMOP|DAGSTER)_[A-Z0-9_]+)`", table))
    names = {name.upper() for kind in CARRIERS.values() for name in kind.credentials}
    credentials = {name for name in listed if any(name.endswith(f"_{n}") for n in names)}
    assert set(settings.SETTINGS) <= listed
    assert listed - credentials - {"AMOP_CALLBACK_URL", "AMOP_CALLBACK_HOST", "AMOP_CALLBACK_PORT"} <= set(
        settings.SETTINGS
    )


@pytest.mark.parametrize(
    "word,meaning", [("on", True), ("TRUE", True), ("Yes", True), ("off", False), ("0", False)]
)
def test_yes_no_settings_take_the_usual_spellings(monkeypatch, word, meaning):
    monkeypatch.setenv("AMOP_SMTP_STARTTLS", word)
    assert notifier_from_env().smtp_starttls is meaning


def test_a_malformed_setting_is_refused_by_name_where_it_is_read(monkeypatch):
    monkeypatch.setenv("AMOP_SMTP_STARTTLS", "maybe")
    with pytest.raises(settings.SettingError, match=r"^AMOP_SMTP_STARTTLS='maybe': must be one of 1, true"):
        notifier_from_env()  # never silently "off": the password would go out in clear text
    monkeypatch.setenv("AMOP_SMTP_STARTTLS", "on")
    monkeypatch.setenv("AMOP_SMTP_PORT", "25x")
    with pytest.raises(settings.SettingError, match=r"^AMOP_SMTP_PORT='25x': must be a whole number$"):
        notifier_from_env()


def test_a_secret_is_named_but_never_shown(monkeypatch):
    monkeypatch.setitem(
        settings.SETTINGS,
        "AMOP_SMTP_PASSWORD",
        settings.Setting("AMOP_SMTP_PASSWORD", None, "test", settings.whole(0), secret=True),
    )
    monkeypatch.setenv("AMOP_SMTP_PASSWORD", "hunter2-secret")
    with pytest.raises(settings.SettingError) as refused:
        settings.get("AMOP_SMTP_PASSWORD")
    assert str(refused.value) == "AMOP_SMTP_PASSWORD: must be a whole number"


def test_amop_commands_end_with_one_line_naming_a_malformed_setting(amop_env, monkeypatch, tmp_path):
    monkeypatch.setenv("AMOP_APPROVAL_THRESHOLD", "lots")
    changes = tmp_path / "changes.csv"
    changes.write_text("iccid,status\n89012600000000000001,Active\n")
    result = CliRunner().invoke(main, ["changes", "submit", "update_device_status", str(changes)])
    assert result.exit_code == 1
    assert (
        result.output.strip().splitlines()[-1]
        == "Error: AMOP_APPROVAL_THRESHOLD='lots': must be a whole number"
    )


def test_amop_settings_shows_each_setting_and_exits_1_on_a_malformed_one(amop_env, monkeypatch):
    monkeypatch.setenv("AMOP_SMTP_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("AMOP_EXECUTOR", "kubernetes")
    result = CliRunner().invoke(main, ["settings"])
    assert result.exit_code == 1
    assert "AMOP_SMTP_PASSWORD=(set)" in result.output and "hunter2-secret" not in result.output
    assert "AMOP_APPROVAL_THRESHOLD=1000" in result.output
    assert "AMOP_EXECUTOR='kubernetes': must be one of multiprocess, celery" in result.output
    monkeypatch.delenv("AMOP_EXECUTOR")
    assert CliRunner().invoke(main, ["settings"]).exit_code == 0
