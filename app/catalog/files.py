"""Reading catalogue CSV files: checked before anything is stored, with messages that name the line.

Errors are :class:`~app.core.errors.ValidationFailed` with field ``file`` and '中文 / English'
messages (the web page shows one half, the command line the English one).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass

from app.core.errors import ValidationFailed
from app.catalog.models import CATEGORY_KINDS

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
NAME_MAX = 100
MAX_REPORTED = 10

DIRECTORY_HEADER = ("standard", "code", "kind", "major_class", "name")
TOPIC_HEADER = ("一级分类", "二级分类", "三级分类")
_CODE = re.compile(r"^\d{5}$")


@dataclass(frozen=True)
class DirectoryRow:
    standard: str
    kind: str
    code: str
    major_class: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.code}"


TopicPath = tuple[str, ...]


def _refuse(*messages: str) -> ValidationFailed:
    return ValidationFailed("文件无法导入 / the file cannot be imported", errors={"file": list(messages)})


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 as saved by Excel on a Chinese Windows."""
    if len(data) > MAX_BYTES:
        raise _refuse(f"文件超过 {MAX_BYTES // 1024 // 1024} MB / the file is larger than "
                      f"{MAX_BYTES // 1024 // 1024} MB")
    if not data.strip():
        raise _refuse("文件为空 / the file is empty")
    if b"\x00" in data:
        raise _refuse("文件不是文本文件（CSV） / the file is not a text (CSV) file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise _refuse("文件编码无法识别，请保存为 UTF-8 编码的 CSV / unknown encoding: save the file as "
                      "UTF-8 CSV") from None


def _rows(text: str, header: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        lines = [(reader.line_num, [cell.strip() for cell in row]) for row in reader]
    except csv.Error as exc:
        raise _refuse(f"CSV 格式错误：{exc} / malformed CSV: {exc}") from None
    lines = [(n, row) for n, row in lines if any(row)]
    for _n, row in lines:  # Excel may add empty cells at the end of a line
        while len(row) > len(header) and not row[-1]:
            row.pop()
    if not lines:
        raise _refuse("文件为空 / the file is empty")
    first = tuple(lines[0][1])
    if first != header:
        raise _refuse(f"表头应为“{','.join(header)}”，实际为“{','.join(first)[:200]}” / the header must be "
                      f"'{','.join(header)}', found '{','.join(first)[:200]}'")
    body = lines[1:]
    if not body:
        raise _refuse("文件只有表头，没有数据行 / the file has a header but no rows")
    if len(body) > MAX_ROWS:
        raise _refuse(f"数据行超过 {MAX_ROWS} 行 / more than {MAX_ROWS} rows")
    return body


def _report(problems: list[str]) -> None:
    if problems:
        shown = problems[:MAX_REPORTED]
        if len(problems) > MAX_REPORTED:
            shown.append(f"……另有 {len(problems) - MAX_REPORTED} 处错误 / … and {len(problems) - MAX_REPORTED} "
                         "more errors")
        raise _refuse(*shown)


def read_topics(data: bytes) -> list[TopicPath]:
    """The topic paths of a 3-level CSV (一级分类,二级分类,三级分类), each once, in file order."""
    body = _rows(decode(data), TOPIC_HEADER)
    problems: list[str] = []
    paths: dict[TopicPath, None] = {}
    for line, row in body:
        if len(row) != 3:
            problems.append(f"第 {line} 行应有 3 列，实际 {len(row)} 列 / line {line}: expected 3 columns, "
                            f"found {len(row)}")
            continue
        for level, name in enumerate(row, start=1):
            if not name:
                problems.append(f"第 {line} 行第 {level} 级分类为空 / line {line}: level {level} name is empty")
            elif len(name) > NAME_MAX:
                problems.append(f"第 {line} 行第 {level} 级分类超过 {NAME_MAX} 字 / line {line}: level {level} "
                                f"name is longer than {NAME_MAX} characters")
            elif "/" in name:
                problems.append(f"第 {line} 行第 {level} 级分类含有“/” / line {line}: level {level} name "
                                "contains '/'")
        paths.setdefault(tuple(row), None)
    _report(problems)
    return list(paths)


def read_directory(data: bytes) -> list[DirectoryRow]:
    """The rows of a GB/T 47678.5 directory CSV (standard,code,kind,major_class,name)."""
    body = _rows(decode(data), DIRECTORY_HEADER)
    problems: list[str] = []
    rows: dict[str, DirectoryRow] = {}
    for line, cells in body:
        if len(cells) != len(DIRECTORY_HEADER):
            problems.append(f"第 {line} 行应有 5 列，实际 {len(cells)} 列 / line {line}: expected 5 columns, "
                            f"found {len(cells)}")
            continue
        row = DirectoryRow(standard=cells[0], code=cells[1], kind=cells[2], major_class=cells[3], name=cells[4])
        if not _CODE.match(row.code):
            problems.append(f"第 {line} 行代码“{row.code[:20]}”不是 5 位数字 / line {line}: code "
                            f"'{row.code[:20]}' is not 5 digits")
        if row.kind not in CATEGORY_KINDS:
            problems.append(f"第 {line} 行类型“{row.kind[:20]}”应为 component 或 event / line {line}: kind "
                            f"'{row.kind[:20]}' must be component or event")
        for column, value in (("major_class", row.major_class), ("name", row.name)):
            if not value:
                problems.append(f"第 {line} 行 {column} 为空 / line {line}: {column} is empty")
            elif len(value) > NAME_MAX:
                problems.append(f"第 {line} 行 {column} 超过 {NAME_MAX} 字 / line {line}: {column} is longer "
                                f"than {NAME_MAX} characters")
        if row.key in rows and rows[row.key] != row:
            problems.append(f"第 {line} 行 {row.key} 重复 / line {line}: {row.key} appears twice")
        rows.setdefault(row.key, row)
    _report(problems)
    return list(rows.values())


def content_sha256(lines: list[tuple[str, ...]]) -> str:
    """The hash of a catalogue's content: its rows in sorted order, so line order, line endings,
    BOM and encoding do not make a new version."""
    text = "\n".join(sorted("\t".join(cells) for cells in lines))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
