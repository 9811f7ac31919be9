"""Password policy beyond Django's validators: a mix of character classes."""

from __future__ import annotations

import string

from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

CLASSES = 4  # lower case, upper case, digits, symbols


def character_classes(password: str) -> int:
    """How many of the four classes the password uses. Any letter that is neither upper nor
    lower case (a Chinese character, say) counts as a symbol: it widens the alphabet as much."""
    lower = any(c.islower() for c in password)
    upper = any(c.isupper() for c in password)
    digit = any(c in string.digits for c in password)
    other = any(not (c.islower() or c.isupper() or c in string.digits) for c in password)
    return sum((lower, upper, digit, other))


class CharacterClassValidator:
    """At least ``min_classes`` of: lower-case letters, upper-case letters, digits, symbols."""

    def __init__(self, min_classes: int = 3) -> None:
        if not 0 <= min_classes <= CLASSES:
            raise ValueError(f"min_classes must be between 0 and {CLASSES}, not {min_classes}")
        self.min_classes = min_classes

    def validate(self, password: str, user: AbstractBaseUser | None = None) -> None:
        if character_classes(password) < self.min_classes:
            raise ValidationError(
                ngettext(
                    "This password must mix at least %(count)d kind of character: "
                    "lower-case letters, upper-case letters, digits, symbols.",
                    "This password must mix at least %(count)d kinds of characters: "
                    "lower-case letters, upper-case letters, digits, symbols.",
                    self.min_classes,
                )
                % {"count": self.min_classes},
                code="password_too_plain",
            )

    def get_help_text(self) -> str:
        if not self.min_classes:
            return ""
        return _(
            "Your password must mix at least %(count)d of: lower-case letters, upper-case "
            "letters, digits, symbols."
        ) % {"count": self.min_classes}
