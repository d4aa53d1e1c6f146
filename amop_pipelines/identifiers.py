"""SIM and handset identifiers: the one place that knows what a valid ICCID or IMEI is.

ICCID: 19 or 20 digits starting with the telecom prefix 89 (the check digit is not enforced:
carriers issue 20-digit ICCIDs whose last digit is not a Luhn digit).
IMEI: 15 digits whose last digit is the Luhn check digit of the first 14.
"""

from __future__ import annotations

import re

import numpy as np

_ICCID = re.compile(r"89\d{17,18}")
_IMEI = re.compile(r"\d{15}")


def luhn_check_digit(payload: str) -> int:
    """The digit that makes `payload + digit` pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = int(char)
        if position % 2 == 0:  # doubled: it sits left of the check digit's slot
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def ascii_digits(value: str) -> bool:
    """Digits 0-9 only: `str.isdigit` also takes Arabic-Indic, full-width and other digits, which
    would let a look-alike of another SIM's ICCID through."""
    return value.isascii() and value.isdigit()


def luhn_valid(number: str) -> bool:
    return ascii_digits(number) and len(number) > 1 and luhn_check_digit(number[:-1]) == int(number[-1])


def iccid_problem(value: str) -> str | None:
    """None when `value` is a well-formed ICCID, else what is wrong with it."""
    if not value:
        return "is empty"
    if not ascii_digits(value):
        return f"'{value}' must be digits 0-9"
    if not 19 <= len(value) <= 20:
        return f"'{value}' must have 19 or 20 digits, not {len(value)}"
    if not _ICCID.fullmatch(value):
        return f"'{value}' must start with 89"
    return None


def imei_problem(value: str) -> str | None:
    """None when `value` is a well-formed IMEI, else what is wrong with it."""
    if not value:
        return "is empty"
    if not ascii_digits(value):
        return f"'{value}' must be digits 0-9"
    if not _IMEI.fullmatch(value):
        return f"'{value}' must have 15 digits, not {len(value)}"
    if not luhn_valid(value):
        return f"'{value}' fails the Luhn check digit"
    return None


def with_luhn_digits(payloads: np.ndarray, width: int) -> np.ndarray:
    """Vectorised: append the Luhn check digit to each non-negative integer payload of `width` digits.

    Returns the identifiers as strings of `width + 1` digits, for fleets of a million SIMs.
    """
    values = payloads.astype(np.int64).copy()
    total = np.zeros(len(values), dtype=np.int64)
    for position in range(width):  # rightmost payload digit first: it is doubled
        digit = values % 10
        values //= 10
        if position % 2 == 0:
            digit = digit * 2
            digit = np.where(digit > 9, digit - 9, digit)
        total += digit
    check = (10 - total % 10) % 10
    full = payloads.astype(np.int64) * 10 + check
    return np.char.zfill(full.astype(str), width + 1)
