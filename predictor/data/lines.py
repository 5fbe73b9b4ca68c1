"""File line numbers for error messages when a reader skipped empty lines.

Arrow's CSV reader ignores empty lines, so "first data line + row index" is only the file's
line when there are none. Errors are rare, so the exact line is found by rescanning the file
on the error path only.
"""

from __future__ import annotations

from pathlib import Path


def physical_line(path: str | Path, data_start: int, nominal: int) -> int:
    """The file line of the data row that a reader numbered ``nominal`` by counting from
    ``data_start`` (the line of the first data row) as if the file had no empty lines."""
    target = int(nominal) - int(data_start)
    if target < 0:
        return int(nominal)
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                if number < data_start or not raw.strip(b"\r\n"):
                    continue
                if target == 0:
                    return number
                target -= 1
    except OSError:
        pass
    return int(nominal)


def count_lines(path: str | Path) -> int:
    """Lines of a file without parsing it (a last line without a newline counts)."""
    newlines, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 24):
            newlines += block.count(b"\n")
            last = block[-1:]
    return newlines + (last != b"\n")
