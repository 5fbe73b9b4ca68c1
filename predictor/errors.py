"""User-facing errors: one line naming the file, line and column, exit code 2."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input given by the user (a file, a column, a value). Never a bug of ours.

    The CLI prints ``str(error)`` as one line and exits with code 2, without a traceback.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.column = column
        super().__init__(self.format())

    def format(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column '{self.column}'")
        prefix = ": ".join([", ".join(where)]) + ": " if where else ""
        return (prefix + self.message).replace("\n", " ")
