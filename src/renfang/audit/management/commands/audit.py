"""``renfang audit verify``, ``renfang audit anchor``, ``renfang audit purge`` and
``renfang audit tail``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from renfang.audit.keys import anchors_path
from renfang.audit.models import Action, AuditEvent
from renfang.audit.services import (
    AnchorFileError,
    AnchorProblem,
    Problem,
    PurgeRefused,
    VerifyResult,
    audit_anchor,
    audit_purge,
    audit_tail,
    audit_verify,
    retention_days,
    verify_anchors,
)
from renfang.core.commands import action_parser


def _shipped_head(text: str) -> tuple[int, str]:
    event_id, _sep, digest = text.partition(":")
    if not event_id.isdigit() or len(digest) != 64:  # noqa: PLR2004 (a SHA-256 in hex)
        raise argparse.ArgumentTypeError(_("expected ID:HASH, e.g. 1234:9f86d08…"))
    return int(event_id), digest.lower()


def _last_purged_id() -> int:
    anchors = AuditEvent.objects.filter(action=Action.PURGE).values_list("detail", flat=True)
    return max((int(detail.get("anchor_id", 0)) for detail in anchors), default=0)


def _when(at: Any) -> str:
    return f"{timezone.localtime(at):%Y-%m-%d %H:%M:%S}" if at is not None else "?"


def _who(username: str, user_id: int | None) -> str:
    if username:
        return username
    return _("user #%(id)s") % {"id": user_id} if user_id is not None else "-"


def anchor_problem_text(problem: AnchorProblem, path: Path) -> str:
    where = f"{path}:{problem.line}"
    if problem.problem == Problem.ANCHOR_FORGED:
        return _("%(where)s: not an anchor signed with this audit key") % {"where": where}
    if problem.problem == Problem.ANCHOR_AHEAD:
        return _(
            "chain broken after event #%(head)s: the anchor of %(at)s (%(where)s) names event "
            "#%(id)s, but the chain's head is #%(head)s: the latest events were deleted"
        ) % {
            "head": problem.head_id,
            "at": problem.anchored_at,
            "where": where,
            "id": problem.event_id,
        }
    return _(
        "chain broken at event #%(id)s: it no longer has the hash anchored on %(at)s "
        "(%(where)s): the chain was rewritten"
    ) % {"id": problem.event_id, "at": problem.anchored_at, "where": where}


def broken_link_text(result: VerifyResult) -> str:
    """What is wrong and where, for the command line."""
    if result.problem == Problem.HEAD_MISSING:
        return _("the chain head is missing: %(count)s events and no head to end them") % {
            "count": f"{result.checked:,}"
        }
    if result.problem == Problem.MISSING_LATEST:
        last = (
            AuditEvent.objects.filter(id=result.last_good_id).first()
            if result.last_good_id is not None
            else None
        )
        where = (
            _("after event #%(id)s (%(time)s, %(user)s)")
            % {"id": last.id, "time": _when(last.at), "user": _who(last.username, last.user_id)}
            if last is not None
            else _("before its first event")
        )
        return _(
            "chain broken %(where)s: the latest events are missing (the chain's head names "
            "event #%(head)s)"
        ) % {"where": where, "head": result.head_id}
    if result.problem == Problem.HEAD_FORGED:
        return _(
            "chain broken at its head (event #%(id)s): the head is not signed with the audit "
            "key; it was moved by hand, and the events after #%(id)s may have been deleted"
        ) % {"id": result.head_id}
    what = (
        _("its content was altered: it does not match its hash (or was hashed without the key)")
        if result.problem == Problem.ALTERED
        else _("the people it showed are missing from the person index of the audit log")
        if result.problem == Problem.UNINDEXED
        else _("its content was altered: it does not match its hash")
        if result.problem == Problem.ALTERED
        else _("it lies past the chain's head: it was written around the chain, not appended")
        if result.problem == Problem.UNCHAINED
        else _(
            "the link to the previous event is broken: an event before it is missing, or "
            "the previous event was rewritten"
        )
    )
    text = _("chain broken at event #%(id)s (%(time)s, %(user)s): %(what)s") % {
        "id": result.broken_id,
        "time": _when(result.broken_at),
        "user": _who(result.broken_username, result.broken_user_id),
        "what": what,
    }
    if result.last_good_id is not None:
        text += "\n" + _("%(count)s events before it are intact, the last one #%(id)s") % {
            "count": f"{result.checked:,}",
            "id": result.last_good_id,
        }
    return text


class Command(BaseCommand):
    help = (
        "The audit log: verify its hash chain, purge events past the retention period, or "
        "show the latest events."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = action_parser(
            actions,
            "verify",
            help="check every event's hash and link; exit 1 at the first broken link",
        )
        verify.add_argument("--no-progress", action="store_true", help="no progress bar")
        verify.add_argument(
            "--anchors",
            type=Path,
            metavar="FILE",
            help="also check the chain against the signed heads `audit anchor` appended to "
            "FILE (default: RENFANG_AUDIT_ANCHOR_FILE when set)",
        )
        anchor = action_parser(
            actions,
            "anchor",
            help="sign the chain's head with the audit key and append it to a file",
        )
        anchor.add_argument(
            "--to",
            type=Path,
            metavar="FILE",
            help="the anchors file (default: RENFANG_AUDIT_ANCHOR_FILE, or beside the key); keep "
            "it append-only and away from the database",
        )
        verify.add_argument(
            "--head",
            type=_shipped_head,
            metavar="ID:HASH",
            help="also check that event ID still has HASH: a head printed by an earlier verify "
            "and kept where the database's owners cannot rewrite it",
        )
        purge = action_parser(
            actions,
            "purge",
            help="delete events older than RENFANG_AUDIT_RETENTION_DAYS; a purge event anchors "
            "the rest of the chain",
        )
        purge.add_argument(
            "--force",
            action="store_true",
            help="purge even when the events to delete do not verify (the purge event says so)",
        )
        tail = action_parser(actions, "tail", help="show the latest events, oldest first")
        tail.add_argument("-n", "--lines", type=int, default=20, help="how many (default 20)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "verify":
            self._verify(progress=not options["no_progress"] and options["verbosity"] >= 1)
            if options["head"] is not None:
                self._check_shipped_head(*options["head"])
            anchors = options["anchors"]
            if anchors is None and settings.RENFANG_AUDIT_ANCHOR_FILE:
                anchors = Path(settings.RENFANG_AUDIT_ANCHOR_FILE)
            if anchors is not None:
                self._check_anchors(anchors)
            else:
                self.stderr.write(
                    _(
                        "no anchors checked: a log deleted whole, or put back from an older "
                        "copy, is caught only by an anchor taken earlier (run `renfang audit "
                        "anchor` from cron, ADR 0019)"
                    )
                )
        elif action == "anchor":
            self._anchor(options["to"] or anchors_path())
        elif action == "purge":
            self._purge(force=options["force"])
        else:
            if options["lines"] < 1:
                raise CommandError(_("-n must be 1 or more"))
            self._tail(options["lines"])

    def _verify(self, *, progress: bool) -> None:
        total = AuditEvent.objects.count() if progress else None
        with tqdm(
            total=total,
            unit=" events",
            desc="verify",
            disable=not progress,
            file=sys.stderr,
            mininterval=0.5,
        ) as bar:
            result = audit_verify(on_progress=bar.update)
        if not result.ok:
            raise CommandError(broken_link_text(result), returncode=1)
        if result.checked == 0:
            self._empty_log_beside_a_register()
        self.stdout.write(_("%(count)s events, chain intact") % {"count": f"{result.checked:,}"})
        # The head, for a log the database's owners cannot rewrite (ADR 0009).
        self.stdout.write(
            _("head: event #%(id)s, hash %(hash)s")
            % {"id": result.head_id, "hash": result.head_hash}
        )

    def _empty_log_beside_a_register(self) -> None:
        """Every write of a person is audited and a purge leaves its own event: an empty log
        beside a register that holds people was deleted (issue 11 review)."""
        people = apps.get_model("people", "Person").objects.count()
        if people:
            raise CommandError(
                _(
                    "the audit log is empty, but the register holds %(count)s people: every "
                    "write of a person is audited, so the log was deleted"
                )
                % {"count": f"{people:,}"},
                returncode=1,
            )

    def _check_anchors(self, path: Path) -> None:
        try:
            problems = verify_anchors(path)
        except AnchorFileError as error:
            raise CommandError(_("cannot read the anchors: %(error)s") % {"error": error}) from None
        if problems:
            raise CommandError(
                "\n".join(anchor_problem_text(problem, path) for problem in problems),
                returncode=1,
            )
        self.stdout.write(_("the chain holds every anchor in %(path)s") % {"path": path})

    def _anchor(self, path: Path) -> None:
        anchor = audit_anchor(path)
        self.stdout.write(
            _("anchored event #%(id)s, hash %(hash)s, in %(path)s")
            % {"id": anchor.last_id, "hash": anchor.last_hash, "path": path}
        )

    def _check_shipped_head(self, event_id: int, expected: str) -> None:
        stored = AuditEvent.objects.filter(pk=event_id).values_list("hash", flat=True).first()
        if stored == expected:
            self.stdout.write(
                _("event #%(id)s still has the hash shipped earlier") % {"id": event_id}
            )
            return
        if stored is None and event_id <= _last_purged_id():
            self.stdout.write(
                _("event #%(id)s was purged (retention); it cannot be checked any more")
                % {"id": event_id}
            )
            return
        raise CommandError(
            _(
                "the chain was rewritten: event #%(id)s no longer has the hash shipped earlier "
                "(%(expected)s)"
            )
            % {"id": event_id, "expected": expected}
            if stored is not None
            else _(
                "the chain was rewritten: event #%(id)s, named by the head shipped earlier, is gone"
            )
            % {"id": event_id},
            returncode=1,
        )

    def _purge(self, *, force: bool) -> None:
        days = retention_days()
        try:
            deleted = audit_purge(force=force)
        except PurgeRefused as refused:
            raise CommandError(
                _(
                    "purge refused: the events to delete do not verify, and deleting them would "
                    "erase the evidence (%(broken)s). Run `renfang audit verify`; --force purges "
                    "anyway."
                )
                % {"broken": broken_link_text(refused.result)}
            ) from refused
        if deleted:
            self.stdout.write(
                _(
                    "%(count)s events older than %(days)s days deleted; a purge event anchors "
                    "the rest of the chain"
                )
                % {"count": f"{deleted:,}", "days": days}
            )
        else:
            self.stdout.write(
                _("nothing to purge: no event is older than %(days)s days") % {"days": days}
            )

    def _tail(self, count: int) -> None:
        for event in audit_tail(count):
            record = f"{event.record_type}:{event.record_id}" if event.record_type else "-"
            detail = event.detail if isinstance(event.detail, dict) else {}
            text = " ".join(f"{key}={value}" for key, value in detail.items())
            if len(text) > 160:
                text = text[:159] + "…"
            purpose = f" «{event.purpose}»" if event.purpose else ""
            line = (
                f"#{event.id} {_when(event.at)} {_who(event.username, event.user_id)} "
                f"[{event.ip or '-'} {event.channel}] {event.action} {record}{purpose} {text}"
            )
            self.stdout.write(line.rstrip())
