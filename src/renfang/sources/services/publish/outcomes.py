"""What publishing answers: the record taken (``Published``) or refused (``PublishRefused``,
and its kinds ``NotPublisher`` and ``OutsideGrant``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


class PublishRefused(ValueError):
    """The record cannot be taken; ``problems`` are (field, reason) pairs. Nothing was saved."""

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in self.problems))


class NotPublisher(PublishRefused):
    """The user is not one of the source's publishers."""


class OutsideGrant(NotPublisher):
    """The record states a division outside the publisher's areas or sets a field (a tag) the
    publisher is not granted; ``problems`` name each."""


@dataclass
class Published:
    """What publishing one record did. ``person_id`` and ``link_rule`` are for renfang's own
    use (the demo, tests): the API answers with the record and its status only. A held record
    has no person (``held``)."""

    record_id: str
    status: str  # "new", "changed" or "unchanged"
    person_id: int | None
    link_rule: str
    unmapped: list[tuple[str, str]] = field(default_factory=list)
    held: bool = False
