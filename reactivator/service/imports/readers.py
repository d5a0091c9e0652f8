"""Streaming readers for CSV (header row) and JSON lines, and the rejects file beside them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from reactivator.errors import InputError

Progress = Callable[[int], None]  # called with the bytes read so far


@dataclass(frozen=True, slots=True)
class RawRow:
    line: int
    fields: dict[str, Any]
    error: str | None = None  # set when the row could not even be read


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise InputError(
        f"{path}: unknown format {suffix!r}; use .csv (with a header row) or .jsonl (one JSON object a line)"
    )


class _Counting(io.RawIOBase):
    """Counts the bytes read through it, so a progress bar can follow a stream."""

    def __init__(self, inner: IO[bytes], progress: Progress | None) -> None:
        self.inner = inner
        self.done = 0
        self.progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.done += n
        if self.progress is not None:
            self.progress(self.done)
        return n


def peek_header(path: Path) -> list[str] | None:
    """The column names of a file, without reading on: a CSV's header row, the first JSON object's keys.

    None when there is nothing to go by (empty, unreadable); `read_rows` then says what is wrong.
    """
    try:
        fmt = file_format(path)
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as text:
            if fmt == "csv":
                first = next(csv.reader(text), None)
                return None if first is None else [h.strip().lower() for h in first]
            for line in text:
                if line.strip():
                    obj = json.loads(line)
                    return [str(k).lower() for k in obj] if isinstance(obj, dict) else None
    except (OSError, InputError, csv.Error, json.JSONDecodeError):
        return None
    return None


def read_rows(path: Path, required: tuple[str, ...], progress: Progress | None = None) -> Iterator[RawRow]:
    """Yield each data row with its line number; memory stays flat however big the file.

    For CSV the first item has line 0 and maps each header name to itself.
    """
    fmt = file_format(path)
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open {path}: {exc.strerror}") from None
    with raw:
        counted = io.BufferedReader(_Counting(raw, progress), buffer_size=1 << 16)
        # Undecodable bytes become U+FFFD so that one bad row is rejected, not the file.
        text = io.TextIOWrapper(counted, encoding="utf-8-sig", errors="replace", newline="")
        if fmt == "csv":
            yield from _csv_rows(path, text, required)
        else:
            yield from _jsonl_rows(text)


def _csv_rows(path: Path, text: IO[str], required: tuple[str, ...]) -> Iterator[RawRow]:
    reader = csv.reader(text)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{path} is empty; expected a header row with {', '.join(required)}") from None
    except csv.Error as exc:
        raise InputError(f"{path}: unreadable header row: {exc}") from None
    missing = [c for c in required if c not in header]
    if missing:
        wanted = ", ".join(repr(m) for m in missing)
        raise InputError(f"{path} has no column {wanted}; the header row has: {', '.join(header)}")
    yield RawRow(0, {h: h for h in header})  # line 0 announces the header to the caller
    width = len(header)
    previous_end = reader.line_num
    while True:
        start = previous_end + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            previous_end = reader.line_num
            yield RawRow(start, {}, f"unreadable CSV: {exc}")
            continue
        previous_end = reader.line_num
        if not values or values == [""]:
            continue
        if len(values) != width:
            yield RawRow(
                start,
                dict(zip(header, values, strict=False)),
                f"expected {width} fields, found {len(values)}",
            )
            continue
        fields = dict(zip(header, values, strict=True))
        if any("\ufffd" in v for v in values):
            yield RawRow(start, fields, "not valid UTF-8")
            continue
        yield RawRow(start, fields)


def _jsonl_rows(text: IO[str]) -> Iterator[RawRow]:
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        if "\ufffd" in line:
            yield RawRow(number, {}, "not valid UTF-8")
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawRow(number, {}, f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            yield RawRow(number, {}, "expected a JSON object")
            continue
        yield RawRow(number, {str(k).lower(): v for k, v in obj.items()})


def rejects_path(path: Path) -> Path:
    """customers.csv -> customers.rejects.csv, next to the input."""
    return path.with_name(
        f"{path.stem}.rejects{path.suffix.lower() if path.suffix.lower() == '.csv' else '.jsonl'}"
    )


class RejectsWriter:
    """Writes rejected rows (line, reason, original fields) next to the input, opened lazily."""

    def __init__(self, source: Path, header: list[str] | None = None) -> None:
        self.path = rejects_path(source)
        self.is_csv = self.path.suffix == ".csv"
        self._file: IO[str] | None = None
        self._csv: Any = None
        self.header = header
        self.count = 0
        if self.path.exists():
            self.path.unlink()  # a stale file from an earlier run would mislead

    def write(self, line: int, reason: str, fields: dict[str, Any]) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            if self.is_csv:
                self._csv = csv.writer(self._file)
        self.count += 1
        if self.is_csv:
            if self.count == 1:
                self.header = self.header if self.header is not None else list(fields)
                self._csv.writerow(["line", "reason", *self.header])
            assert self.header is not None
            self._csv.writerow([line, reason, *(fields.get(h, "") for h in self.header)])
        else:
            self._file.write(
                json.dumps({"line": line, "reason": reason, "row": fields}, ensure_ascii=False) + "\n"
            )

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._file is not None:
            self._file.close()
