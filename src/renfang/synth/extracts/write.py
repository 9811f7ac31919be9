"""Write the department extracts of a synthetic district, with their mappings and the truth.

Reads the district's register back household by household (with the households file the
generator wrote beside it), lets every department record the people it knows, and writes
into ``extracts/``: one file per department, ``mappings/<code>.yaml``, ``sources.txt``
(code, name, file, mapping — for scripts to loop over), ``truth.csv`` (source, record_id,
person_key: which records are the same person) and ``noise.csv`` (source, record_id, kinds:
the errors a record carries, for whoever wants to know why a record was hard to link).
"""

from __future__ import annotations

import datetime
import random
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import NamedTuple, Never

from tqdm import tqdm

from renfang.synth.extracts.department import Context, Department, Places
from renfang.synth.extracts.departments import DEPARTMENTS
from renfang.synth.extracts.files import Sink, open_sink
from renfang.synth.extracts.population import Profiler, read_households
from renfang.synth.writer import CsvOut

EXTRACTS = "extracts"
TRUTH_HEADER = ["source", "record_id", "person_key"]
NOISE_HEADER = ["source", "record_id", "kinds"]


class SourceFile(NamedTuple):
    """A line of sources.txt: a department's code and name, its file and its mapping (paths
    relative to the extracts directory)."""

    code: str
    name: str
    file: str
    mapping: str


def read_sources(extracts: Path) -> list[SourceFile]:
    """The departments listed in ``extracts/sources.txt``, in order."""
    text = (extracts / "sources.txt").read_text(encoding="utf-8")
    return [SourceFile(*line.split("\t")) for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class ExtractsSummary:
    records: dict[str, int]  # by source code
    duplicates: dict[str, int]  # of those, people recorded a second time
    persons: int  # distinct true persons the extracts hold
    people: int  # people in the register


def mapping_text(code: str) -> str:
    """The mapping file of a department (the package's copy)."""
    return (files("renfang.synth") / "data" / "mappings" / f"{code}.yaml").read_text(
        encoding="utf-8"
    )


def write_extracts(
    district_dir: Path,
    households: Path,
    *,
    seed: int,
    as_of: datetime.date,
    district: str,
    people: int,
    progress: bool = False,
) -> ExtractsSummary:
    """Write ``district_dir/extracts/`` from the district in ``district_dir``."""
    out = district_dir / EXTRACTS
    (out / "mappings").mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"department extracts {seed}")
    context = Context(rng=rng, as_of=as_of, places=Places(district_dir, district))
    departments: list[Department] = [department(context) for department in DEPARTMENTS]
    profiler = Profiler(rng)
    persons = 0
    with ExitStack() as stack:
        truth = stack.enter_context(CsvOut(out / "truth.csv", TRUTH_HEADER))
        noise = stack.enter_context(CsvOut(out / "noise.csv", NOISE_HEADER))
        sinks: list[Sink] = [
            stack.enter_context(open_sink(out, department.output, department.columns, as_of))
            for department in departments
        ]
        bar = stack.enter_context(_bar(progress, people))
        for household in read_households(district_dir / "register.csv", households, as_of=as_of):
            profiler.profile(household)
            covered: set[str] = set()
            for department, sink in zip(departments, sinks, strict=True):
                for record in department.records(household):
                    sink.write(record.values)
                    truth.write((department.code, record.record_id, record.person))
                    if record.kinds:
                        noise.write((department.code, record.record_id, " ".join(record.kinds)))
                    covered.add(record.person)
            persons += len(covered)
            bar.update(len(household))
        for department, sink in zip(departments, sinks, strict=True):
            for record in department.later:
                sink.write(record.values)
                truth.write((department.code, record.record_id, record.person))
                noise.write((department.code, record.record_id, " ".join(record.kinds)))
    with (out / "sources.txt").open("w", encoding="utf-8") as listing:
        for department in departments:
            mapping = f"mappings/{department.code}.yaml"
            (out / mapping).write_text(mapping_text(department.code), encoding="utf-8")
            listing.write(
                f"{department.code}\t{department.name}\t{department.output.file_name}\t{mapping}\n"
            )
    return ExtractsSummary(
        records={d.code: sink.rows for d, sink in zip(departments, sinks, strict=True)},
        duplicates={d.code: len(d.later) for d in departments},
        persons=persons,
        people=people,
    )


def _bar(shown: bool, total: int) -> tqdm[Never]:
    return tqdm(
        total=total, unit=" people", desc="extracts", disable=None if shown else True,
        file=sys.stderr, mininterval=0.5,
    )  # fmt: skip
