"""The chain's head, signed, kept outside the database; checking the chain against those
anchors. ADR 0019."""

from __future__ import annotations

import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from renfang.audit.keys import sign
from renfang.audit.models import AuditEvent, AuditHead

# ---------------------------------------------------------------- anchors (ADR 0019)
from renfang.audit.services.chain import _STRICT, _iso, _locked_head
from renfang.audit.services.purge import _purged_upto
from renfang.audit.services.verify import _REASONS, Problem


@dataclass(frozen=True)
class Anchor:
    """A signed head, appended to a file the database's owners cannot rewrite."""

    last_id: int
    last_hash: str
    at: str
    legacy_upto: int
    key: str
    mac: str

    def message(self) -> str:
        return f"{self.last_id}:{self.last_hash}:{self.at}:{self.legacy_upto}:{self.key}"

    def line(self) -> str:
        return _STRICT(
            {
                "id": self.last_id,
                "hash": self.last_hash,
                "at": self.at,
                "legacy_upto": self.legacy_upto,
                "key": self.key,
                "mac": self.mac,
            }
        )


def audit_anchor(path: Path) -> Anchor:
    """Sign the chain's head as it is now and append it, one JSON line, to ``path`` (made if
    missing; flushed to disk before returning)."""
    from renfang.audit.keys import key_id  # noqa: PLC0415

    with transaction.atomic():
        head = _locked_head()  # no append between reading the head and signing it
        unsigned = Anchor(
            last_id=head.last_id,
            last_hash=head.last_hash,
            at=_iso(timezone.now()),
            legacy_upto=head.legacy_upto,
            key=key_id(),
            mac="",
        )
    anchor = Anchor(**{**unsigned.__dict__, "mac": sign("anchor", unsigned.message())})
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(anchor.line() + "\n")
        out.flush()
        os.fsync(out.fileno())
    return anchor


class AnchorFileError(Exception):
    """An anchors file that cannot be read."""


def read_anchors(path: Path) -> list[tuple[int, Anchor | None]]:
    """The anchors of a file, by line number; None for a line that is not a signed anchor."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise AnchorFileError(f"{path}: {error.strerror}") from None
    anchors: list[tuple[int, Anchor | None]] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
            anchor = Anchor(
                last_id=int(data["id"]),
                last_hash=str(data["hash"]),
                at=str(data["at"]),
                legacy_upto=int(data["legacy_upto"]),
                key=str(data["key"]),
                mac=str(data["mac"]),
            )
        except (ValueError, KeyError, TypeError):
            anchors.append((number, None))
            continue
        good = hmac.compare_digest(anchor.mac, sign("anchor", anchor.message()))
        anchors.append((number, anchor if good else None))
    return anchors


@dataclass(frozen=True)
class AnchorProblem:
    problem: str
    line: int
    event_id: int | None = None
    head_id: int = 0
    anchored_at: str = ""

    @property
    def reason(self) -> str:
        return _REASONS.get(self.problem, "")


def verify_anchors(path: Path) -> list[AnchorProblem]:
    """Check the chain against every anchor in ``path``: the head must not be older than an
    anchor, and each anchored event must still have its anchored hash (or have been purged
    by a keyed purge event)."""
    anchors = read_anchors(path)
    head = AuditHead.objects.filter(pk=1).first()
    head_id = head.last_id if head is not None else 0
    purged_upto = _purged_upto()
    problems: list[AnchorProblem] = []
    signed = [(line, anchor) for line, anchor in anchors if anchor is not None]
    for line, anchor in anchors:
        if anchor is None:
            problems.append(AnchorProblem(Problem.ANCHOR_FORGED, line))
    wanted = [anchor.last_id for _line, anchor in signed if anchor.last_id]
    stored: dict[int, str] = {}
    for start in range(0, len(wanted), 5000):
        stored.update(
            AuditEvent.objects.filter(id__in=wanted[start : start + 5000]).values_list("id", "hash")
        )
    for line, anchor in signed:
        if anchor.last_id > head_id:
            problems.append(
                AnchorProblem(Problem.ANCHOR_AHEAD, line, anchor.last_id, head_id, anchor.at)
            )
        elif anchor.last_id == 0:
            continue
        elif anchor.last_id in stored:
            if stored[anchor.last_id] != anchor.last_hash:
                problems.append(
                    AnchorProblem(Problem.ANCHOR_MISMATCH, line, anchor.last_id, head_id, anchor.at)
                )
        elif anchor.last_id > purged_upto:
            problems.append(
                AnchorProblem(Problem.ANCHOR_MISMATCH, line, anchor.last_id, head_id, anchor.at)
            )
    return problems
