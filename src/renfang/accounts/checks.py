"""Startup checks: a broken role policy or an unsafe login setting stops the server."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, register

from renfang.accounts.policy import PolicyError, role_policies


@register()
def check_role_policy(**kwargs: Any) -> list[Error]:
    try:
        role_policies()
    except PolicyError as exc:
        return [Error(str(exc), id="accounts.E001")]
    return []
