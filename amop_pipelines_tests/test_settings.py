"""Settings: declared once, read only by the settings module, refused by name when malformed."""

import ast
import os
import re
import subprocess
import sys
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
    # the simulator is a stand-in for the carriers and reads none
    assert readers == []


def test_no_command_option_reads_an_amop_setting_behind_the_settings_module():
    # AMOP_SIM_* configure the simulator, a stand-in for the carriers, not AMOP
    assert re.findall(r'envvar="(?!AMOP_SIM_)', (PACKAGE / "cli.py").read_text()) == []


def test_the_guide_lists_every_setting_and_no_other():
    guide = (ROOT / "docs" / "GUIDE.md").read_text()
    table = guide[guide.index("## Settings") : guide.index("Per carrier account")]
    listed = set(re.findall(r"`((?:AMOP|DAGSTER)_[A-Z0-9_]+)`", table))
    names = {name.upper() for kind in CARRIERS.values() for name in kind.credentials}
    credentials = {name for name in listed if any(name.endswith(f"_{n}") for n in names)}
    assert set(settings.SETTINGS) <= listed
    assert listed - credentials <= set(settings.SETTINGS)


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


# a malformed value for every setting: a setting added without a parser that refuses something
# fails the coverage test below
MALFORMED = {
    "AMOP_DATA_DIR": "{file}",
    "AMOP_DATABASE_URL": "mysql://db/amop",
    "DAGSTER_PG_URL": "postgresql://db:99999/dagster",
    "DAGSTER_HOME": "{file}",
    "AMOP_EXECUTOR": "kubernetes",
    "AMOP_CELERY_BROKER": "guest:guest@127.0.0.1:5672",
    "AMOP_CELERY_BACKEND": "redis//127.0.0.1",
    "AMOP_STEP_STORAGE": "gs://bucket",
    "AMOP_S3_ENDPOINT_URL": "minio:9000",
    "AMOP_CARRIER_BASE_URL": "http://",
    "AMOP_CALLBACK_SECRET": " ",
    "AMOP_CALLBACK_USERNAME": " amop",
    "AMOP_CALLBACK_URL": "ftp://example.com/cb",
    "AMOP_CALLBACK_HOST": "http://0.0.0.0",
    "AMOP_CALLBACK_PORT": "99999",
    "AMOP_SMTP_HOST": "smtp.example.com:25",
    "AMOP_SMTP_PORT": "0",
    "AMOP_SMTP_USERNAME": "  ",
    "AMOP_SMTP_PASSWORD": " ",
    "AMOP_SMTP_STARTTLS": "maybe",
    "AMOP_SMTP_ALLOW_PLAIN_AUTH": "2",
    "AMOP_MAIL_FROM": "amop",
    "AMOP_MAIL_TO": "ops@example.com, finance",
    "AMOP_MAIL_BCC": "@example.com",
    "AMOP_OUTBOX_DIR": "{file}",
    "AMOP_PROGRESS_WEBHOOK_URL": "hooks.example.com/amop",
    "AMOP_TOKEN": "short",
    "AMOP_BACKLOG_ALERT_MINUTES": "2",
    "AMOP_ARCHIVERS": " ",
    "AMOP_APPROVAL_THRESHOLD": "0",
    "AMOP_APPROVALS_REQUIRED": "11",
    "AMOP_ALLOW_UNAPPROVED_CRITICAL": "sure",
}


def test_every_setting_has_a_malformed_example():
    assert set(MALFORMED) == set(settings.SETTINGS)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_value_of_any_setting_ends_every_command_with_one_line_naming_it(
    amop_env, monkeypatch, tmp_path, name
):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    monkeypatch.setenv(name, MALFORMED[name].format(file=a_file))
    with pytest.raises(settings.SettingError) as refused:
        settings.get(name)
    message = str(refused.value)
    assert message.startswith(name) and "\n" not in message
    for command in (["settings"], ["changes", "list"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1, (command, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
        assert [line.removeprefix("Error: ") for line in result.output.splitlines()].count(message) == 1
    if settings.SETTINGS[name].secret:
        assert MALFORMED[name].strip() == "" or MALFORMED[name] not in message


def test_the_callback_receiver_listens_on_the_port_it_prints_or_refuses_it(amop_env, monkeypatch):
    monkeypatch.setenv("AMOP_CALLBACK_SECRET", "a-secret-of-sixteen-chars")
    monkeypatch.setenv("AMOP_CALLBACK_PORT", "99999")
    result = CliRunner().invoke(main, ["callbacks", "serve"])
    assert result.exit_code == 1
    assert "AMOP_CALLBACK_PORT='99999': must be from 1 to 65535" in result.output
    monkeypatch.delenv("AMOP_CALLBACK_PORT")
    result = CliRunner().invoke(main, ["callbacks", "serve", "--port", "99999"])
    assert result.exit_code == 2 and "99999 is not in the range 1<=x<=65535" in result.output


def test_a_short_or_padded_callback_secret_is_refused(amop_env, monkeypatch):
    for secret in ("short", " padded-secret-of-enough-chars "):
        monkeypatch.setenv("AMOP_CALLBACK_SECRET", secret)
        result = CliRunner().invoke(main, ["callbacks", "serve"])
        assert result.exit_code == 1 and "AMOP_CALLBACK_SECRET:" in result.output
        assert secret.strip() not in result.output


def test_the_code_location_refuses_to_load_on_a_malformed_setting(tmp_path):
    env = {**os.environ, "AMOP_DATA_DIR": str(tmp_path), "AMOP_SMTP_PORT": "smtp"}
    loaded = subprocess.run(
        [sys.executable, "-c", "import amop_pipelines.definitions"], env=env, capture_output=True, text=True
    )
    assert loaded.returncode == 1
    assert "SettingError: AMOP_SMTP_PORT='smtp': must be a whole number" in loaded.stderr
