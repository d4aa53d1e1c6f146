"""Bad input, said the same way everywhere: `FILE:ROW: field: message`, every problem at once.

ROW is the line in the file (the header being line 1; 0 for the file as a whole).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class InputProblem:
    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}: {self.field}: {self.message}"


class InputError(ValueError):
    """One or more rows of an input file are invalid; `problems` lists them all."""

    def __init__(self, problems: list[InputProblem]):
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        super().__init__(
            shown + (f"\n... and {more:,} more ({len(problems):,} problems in all)" if more > 0 else "")
        )
