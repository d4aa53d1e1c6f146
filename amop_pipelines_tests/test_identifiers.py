import numpy as np
import pytest

from amop_pipelines.identifiers import (
    iccid_problem,
    imei_problem,
    luhn_check_digit,
    luhn_valid,
    with_luhn_digits,
)


@pytest.mark.parametrize("imei", ["490154203237518", "356938035643809", "353320111315680"])
def test_published_imeis_pass(imei):
    assert imei_problem(imei) is None


@pytest.mark.parametrize(
    ("imei", "message"),
    [
        ("490154203237519", "Luhn"),
        ("49015420323751", "15 digits"),
        ("4901542032375181", "15 digits"),
        ("49015420323751A", "must be digits 0-9"),
        ("٤٩٠١٥٤٢٠٣٢٣٧٥١٨", "must be digits 0-9"),  # Luhn-valid, Arabic-Indic
        ("４９０１５４２０３２３７５１８", "must be digits 0-9"),  # full-width
        ("", "empty"),
    ],
)
def test_bad_imeis_say_what_is_wrong(imei, message):
    assert message in imei_problem(imei)


@pytest.mark.parametrize("iccid", ["8901260250954666043", "89148000001234567890"])
def test_well_formed_iccids_pass(iccid):
    assert iccid_problem(iccid) is None


@pytest.mark.parametrize(
    ("iccid", "message"),
    [
        ("9901260250954666043", "start with 89"),
        ("890126025095466604", "19 or 20 digits"),
        ("891480000012345678901", "19 or 20 digits"),
        ("8901260250954666O43", "must be digits 0-9"),
        ("89٠١٢٦٠٢٥٠٩٥٤٦٦٦٠٤٣", "must be digits 0-9"),  # 89 then Arabic-Indic digits
        ("８９01260250954666043", "must be digits 0-9"),  # full-width 89
    ],
)
def test_bad_iccids_say_what_is_wrong(iccid, message):
    assert message in iccid_problem(iccid)


def test_vectorised_check_digits_match_the_scalar_rule():
    rng = np.random.default_rng(1)
    payloads = rng.integers(0, 10**14, 2000)
    numbers = with_luhn_digits(payloads, 14)
    for payload, number in zip(payloads, numbers, strict=True):
        text = str(payload).zfill(14)
        assert number == text + str(luhn_check_digit(text))
        assert luhn_valid(number)
