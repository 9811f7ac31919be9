"""Reading a department's workbook: time and rows of one sheet read through the import's reader.

    .venv/bin/python scripts/bench_workbook.py write bench-data/workbook-100000.xlsx 100000
    /usr/bin/time -v .venv/bin/python scripts/bench_workbook.py read bench-data/workbook-100000.xlsx

``write`` makes a sheet as a department's Excel would (openpyxl: shared strings, date cells,
numbers, empty cells; ``.xls`` with xlwt, at most 65,535 rows; ``.ods`` with odfpy), ``read``
opens it with ``renfang.sources.readers.read_table`` and walks every row as ``renfang import``
does (run it under ``/usr/bin/time -v`` for the peak memory). ADR 0027 has the figures.
"""

from __future__ import annotations

import datetime
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

COLUMNS = [
    "档案号",
    "身份证号",
    "姓名",
    "性别",
    "出生日期",
    "民族",
    "联系电话",
    "户籍地址",
    "现住址",
    "登记时间",
    "备注",
]
_FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
_ROADS = ["天平路", "衡山路", "漕溪北路", "宛平南路", "龙华中路", "田林路"]


def _address(rng: random.Random) -> str:
    road, number, lane, room = (
        rng.choice(_ROADS),
        rng.randrange(1, 999),
        rng.randrange(1, 40),
        rng.randrange(101, 2001),
    )
    return f"{road}{number}弄{lane}号{room}室"


def _row(rng: random.Random, number: int) -> list[Any]:
    birth = datetime.date(1940, 1, 1) + datetime.timedelta(days=rng.randrange(29_000))
    id_number = f"310104{birth:%Y%m%d}{rng.randrange(1000):03d}{rng.choice('0123456789X')}"
    return [
        100_000 + number,
        id_number,
        rng.choice(_FAMILY) + "".join(rng.choices(_GIVEN, k=rng.choice((1, 2)))),
        rng.choice(("男", "女")),
        birth,
        "汉族" if rng.random() < 0.95 else "回族",
        float(13_800_000_000 + rng.randrange(100_000_000)),
        f"上海市徐汇区{rng.choice(_ROADS)}{rng.randrange(1, 999)}号",
        _address(rng),
        datetime.datetime(2020, 1, 1) + datetime.timedelta(minutes=rng.randrange(3_000_000)),  # noqa: DTZ001
        "独居" if rng.random() < 0.05 else None,
    ]


def write(path: Path, rows: int) -> None:
    rng = random.Random(1)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".xls":
        import xlwt  # noqa: PLC0415 (a dev dependency)

        book = xlwt.Workbook(encoding="utf-8")
        sheet = book.add_sheet("人员信息")
        dates = {
            datetime.date: xlwt.easyxf(num_format_str="yyyy-mm-dd"),
            datetime.datetime: xlwt.easyxf(num_format_str="yyyy-mm-dd hh:mm:ss"),
        }
        for column, name in enumerate(COLUMNS):
            sheet.write(0, column, name)
        for number in range(1, rows + 1):
            for column, value in enumerate(_row(rng, number)):
                if value is None:
                    continue
                if type(value) in dates:
                    sheet.write(number, column, value, dates[type(value)])
                else:
                    sheet.write(number, column, value)
        book.save(str(path))
        return
    if suffix == ".ods":
        from renfang.sources.tests.workbooks import write_ods  # noqa: PLC0415

        write_ods(path, {"人员信息": [COLUMNS, *(_row(rng, n) for n in range(1, rows + 1))]})
        return
    from openpyxl import Workbook  # noqa: PLC0415

    book = Workbook(write_only=True)
    sheet = book.create_sheet("人员信息")
    sheet.append(COLUMNS)
    for number in range(1, rows + 1):
        sheet.append(_row(rng, number))
    book.save(path)


def read(path: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renfang.settings")
    import django  # noqa: PLC0415

    django.setup()
    from renfang.sources.mapping import FileOptions  # noqa: PLC0415
    from renfang.sources.readers import read_table  # noqa: PLC0415

    started = time.perf_counter()
    count = 0
    with read_table(path, FileOptions(), needed=COLUMNS[:3]) as table:
        for _line, _row_values in table.rows:
            count += 1
    seconds = time.perf_counter() - started
    print(f"{path.name}: {count:,} rows in {seconds:.2f} s ({count / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    command, target = sys.argv[1], Path(sys.argv[2])
    if command == "write":
        write(target, int(sys.argv[3]))
    else:
        read(target)
