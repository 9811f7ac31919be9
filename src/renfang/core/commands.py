"""Helpers for management commands with actions (``renfang areas load FILE``)."""

from __future__ import annotations

import argparse
from typing import Any


def action_parser(actions: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A sub-command that also takes ``-v N`` after the action, where people type it."""
    sub: argparse.ArgumentParser = actions.add_parser(name, **kwargs)
    sub.add_argument(
        "-v",
        "--verbosity",
        type=int,
        choices=[0, 1, 2, 3],
        default=argparse.SUPPRESS,
        help="0 quiet, 1 normal (with progress bars), 2 details",
    )
    return sub
