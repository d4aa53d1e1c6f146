"""The formula guard, one rule for every cell and CSV field the reports write: text that a
spreadsheet would take for a formula (it starts with =, +, -, @, a tab or a carriage return, the
OWASP CSV-injection list) gets a leading apostrophe-quote and stays text."""

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_STARTS_A_FORMULA = "^[" + "".join(f"\\x{ord(start):02x}" for start in FORMULA_STARTS) + "]"


def safe(value: object) -> object:
    """A value as it may be written: formula-like text quoted, anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_text(name: str) -> pl.Expr:
    """`safe` on a frame's text column `name` (nulls stay null)."""
    column = pl.col(name)
    quoted = pl.concat_str([pl.lit("'"), column])
    return pl.when(column.str.contains(_STARTS_A_FORMULA)).then(quoted).otherwise(column).alias(name)
