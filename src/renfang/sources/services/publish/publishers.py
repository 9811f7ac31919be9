"""Who may publish records of a source: its publishers, set by username."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from renfang.audit.services import User
from renfang.sources.models import Source
from renfang.sources.services.sources import SourceError, audit_write, history_sources


def source_publishers_set(
    source: Source,
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    actor: User | None,
) -> list[str]:
    """Let these users publish records of the source (``add``) or no longer (``remove``), by
    username; returns the publishers' usernames. Raises SourceError naming an unknown user,
    or when adding a publisher to a source that keeps people's history (ADR 0033: only
    ``renfang register import`` writes it; a publisher left on it may still be removed)."""
    users = get_user_model()
    add, remove = list(add), list(remove)
    if add and source.code in history_sources():
        raise SourceError(
            _(
                "source %(code)s keeps people's residence and hukou history (golden.toml, "
                "[history]): only renfang register import writes a history source; it has no "
                "publishers"
            )
            % {"code": source.code}
        )
    found = {
        user.get_username(): user
        for user in users.objects.filter(**{f"{users.USERNAME_FIELD}__in": add + remove})
    }
    unknown = [name for name in add + remove if name not in found]
    if unknown:
        raise SourceError(_("no such user: %(names)s") % {"names": ", ".join(unknown)})
    with transaction.atomic():
        before = set(source.publishers.values_list(users.USERNAME_FIELD, flat=True))
        source.publishers.add(*(found[name] for name in add))
        source.publishers.remove(*(found[name] for name in remove))
        after = set(source.publishers.values_list(users.USERNAME_FIELD, flat=True))
        if after != before:
            audit_write(
                actor,
                "source",
                source.code,
                {
                    "action": "publishers changed",
                    "added": sorted(after - before),
                    "removed": sorted(before - after),
                },
            )
    return sorted(after)
