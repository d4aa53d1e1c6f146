"""`amop changes submit` on hostile files: only regular files are read, within a size, row and
field limit named in the refusal; at most 50 problems are printed with the total; a file of more
devices than one statement may name is checked in chunks (PostgreSQL's 65,535 bound parameters).
Never a traceback, never a hang, nothing stored."""

import os

import numpy as np
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from amop_pipelines.changes.csvfile import MAX_FIELD_CHARS, MAX_FILE_BYTES, MAX_ROWS
from amop_pipelines.cli import main
from amop_pipelines.db import migrate
from amop_pipelines.db.engine import make_engine
from amop_pipelines.db.models import ChangeItem, ChangeRequest
from amop_pipelines.identifiers import with_luhn_digits
from amop_pipelines.settings import database_url

HEADER = "iccid,status\n"


def _submit(path):
    result = CliRunner().invoke(main, ["changes", "submit", "update_device_status", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def _nothing_stored() -> bool:
    with make_engine(database_url()).connect() as connection:
        return connection.scalar(sa.select(sa.func.count()).select_from(ChangeRequest)) == 0 and (
            connection.scalar(sa.select(sa.func.count()).select_from(ChangeItem)) == 0
        )


def _iccids(count: int) -> list[str]:
    payloads = np.arange(count, dtype=np.int64) + 8_901_260_000_000_000_000 // 10
    return [str(i) for i in with_luhn_digits(payloads, 18)]


@pytest.fixture
def env(amop_env):
    migrate.upgrade(database_url())
    return amop_env


def test_devices_and_folders_are_refused_as_not_a_regular_file(env, tmp_path):
    result = _submit("/dev/zero")  # read until memory ran out, before
    assert result.exit_code == 2 and "/dev/zero:0: file: is not a regular file" in result.output
    result = _submit(tmp_path)
    assert result.exit_code == 2 and "is a directory" in result.output
    assert _nothing_stored()


@pytest.mark.timeout(30)
def test_a_named_pipe_is_refused_at_once_instead_of_waiting_for_a_writer(env, tmp_path):
    fifo = tmp_path / "changes.csv"
    os.mkfifo(fifo)
    result = _submit(fifo)
    assert result.exit_code == 2 and "is not a regular file" in result.output


def test_a_file_over_the_size_limit_is_refused_naming_the_limit(env, tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.write(HEADER.encode())
        handle.truncate(MAX_FILE_BYTES + 1)  # sparse: the size is what counts, not the content
    result = _submit(path)
    assert result.exit_code == 2
    assert f"over the limit of {MAX_FILE_BYTES:,} bytes (64 MiB)" in result.output
    assert _nothing_stored()


def test_a_file_over_the_row_limit_is_refused_naming_the_limit(env, tmp_path):
    path = tmp_path / "many.csv"
    row = "89012600000000000001,Active\n"
    path.write_text(HEADER + row * (MAX_ROWS + 1))
    result = _submit(path)
    assert result.exit_code == 2
    assert (
        f"{path}:{MAX_ROWS + 2}: file: has more than {MAX_ROWS:,} rows, the limit per request"
        in result.output
    )
    assert _nothing_stored()


def test_long_fields_are_refused_by_line_and_column(env, tmp_path):
    path = tmp_path / "long.csv"
    path.write_text(
        HEADER
        + f"89012600000000000001,{'A' * (MAX_FIELD_CHARS + 1)}\n"
        + f"89012600000000000002,{'B' * 200_000}\n"
    )
    result = _submit(path)
    assert result.exit_code == 2
    assert (
        f"{path}:2: status: is {MAX_FIELD_CHARS + 1} characters; at most {MAX_FIELD_CHARS}" in result.output
    )
    assert f"{path}:3: row: cannot be read: a field is longer than 131,072 characters" in result.output
    assert _nothing_stored()


def test_only_the_first_50_problems_are_printed_with_the_total(env, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "".join(f"12{n:05d},Active\n" for n in range(2_000)))
    result = _submit(path)
    stage, *lines = result.output.strip().splitlines()
    assert stage.startswith("read 2,000 rows of bad.csv")  # the progress line of the one stage done
    assert result.exit_code == 2 and len(lines) == 51
    assert all(": iccid: " in line for line in lines[:50])
    assert lines[-1] == "... and 1,950 more (2,000 problems in all)"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_file_naming_more_devices_than_one_statement_may_is_checked_whole(
    env, tmp_path, monkeypatch, request, database
):
    """70,000 well-formed ICCIDs of devices nobody has: every one reported unknown (the device
    lookup runs in chunks: PostgreSQL refuses statements of more than 65,535 parameters)."""
    if database == "postgresql":
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("AMOP_DATABASE_URL", url)
        migrate.upgrade(url)
    path = tmp_path / "unknown.csv"
    path.write_text(HEADER + "".join(f"{iccid},Active\n" for iccid in _iccids(70_000)))
    result = _submit(path)
    assert result.exit_code == 2, result.output
    assert "unknown device" in result.output.splitlines()[1]  # after the line saying the file was read
    assert result.output.strip().splitlines()[-1] == "... and 69,950 more (70,000 problems in all)"
    assert _nothing_stored()
