"""Fixtures for the sources tests: messages in English, a police mapping, files on disk."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.utils import translation

# A police household register export: split names, its own codes, Chinese dates.
POLICE_MAPPING = """\
# 公安户籍 police household register, CSV export
record_id: "{人员编号}"
file:
  encoding: auto
fields:
  id_type: resident_id
  id_number: "{公民身份号码}"
  family_name: "{姓}"
  given_name: "{名}"
  name: "{姓}{名}"
  sex:
    value: "{性别}"
    codes: {男: "1", 女: "2", 未知: ~}
  birth_date:
    value: "{出生日期}"
    date_format: ["%Y年%m月%d日", "%Y%m%d"]
  nationality:
    value: "{国籍}"
    default: CHN
  ethnicity:
    value: "{民族}"
    codes: {汉族: "01", 回族: "03"}
  hukou_division: "{户籍地区划}"
  hukou_type:
    value: "{户别}"
    codes: {家庭户: family, 集体户: collective}
  phone: "{联系电话}"
  marital_status:
    value: "{婚姻状况}"
    codes: {未婚: "10", 已婚: "20", 离婚: "40"}
  tags:
    value: "{人员标签}"
    codes: {独居: elderly_alone, 残疾: disabled}
"""

POLICE_COLUMNS = [
    "人员编号",
    "公民身份号码",
    "姓",
    "名",
    "性别",
    "出生日期",
    "国籍",
    "民族",
    "户籍地区划",
    "户别",
    "联系电话",
    "婚姻状况",
    "人员标签",
]
ZHANG = "310104198001011239"  # a valid resident ID; its old 15-digit form is 310104800101123


def police_row(**values: str) -> dict[str, str]:
    row = {
        "人员编号": "P001",
        "公民身份号码": ZHANG,
        "姓": "张",
        "名": "伟",
        "性别": "男",
        "出生日期": "1980年1月1日",
        "国籍": "",
        "民族": "汉族",
        "户籍地区划": "310104",
        "户别": "家庭户",
        "联系电话": "138 0013 8000",
        "婚姻状况": "已婚",
        "人员标签": "",
    }
    row.update(values)
    return row


def csv_text(rows: list[dict[str, str]], columns: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or POLICE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_csv(
    path: Path,
    rows: list[dict[str, str]],
    *,
    encoding: str = "utf-8",
    columns: list[str] | None = None,
) -> Path:
    path.write_bytes(csv_text(rows, columns).encode(encoding))
    return path


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text(
        "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records),
        encoding="utf-8",
    )
    return path


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield
