from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


def _forget_cached_codes(**kwargs: Any) -> None:
    from renfang.codes.selectors import clear_cache  # noqa: PLC0415 (apps load first)

    clear_cache()


def _load_missing_code_sets(*, verbosity: int = 1, using: str = "default", **kwargs: Any) -> None:
    from renfang.codes.services import (  # noqa: PLC0415
        code_sets_load_missing,
        division_history_load_missing,
    )

    for result in code_sets_load_missing(using=using):
        if verbosity >= 1:
            print(f"  Code set {result}")  # noqa: T201 (migrate's own output style)
    history = division_history_load_missing(using=using)
    if history is not None and verbosity >= 1:
        print(f"  {history}")  # noqa: T201


class CodesConfig(AppConfig):
    name = "renfang.codes"
    label = "codes"
    verbose_name = _("codes")

    def ready(self) -> None:
        from renfang.areas.models import Area  # noqa: PLC0415
        from renfang.codes.models import Code, CodeSet, HistoricDivision  # noqa: PLC0415

        # A saved code or area (admin, a test) must not leave a stale label behind.
        for model in (Code, CodeSet, HistoricDivision, Area):
            post_save.connect(_forget_cached_codes, sender=model, dispatch_uid=f"codes-{model}")
            post_delete.connect(_forget_cached_codes, sender=model, dispatch_uid=f"codes-d-{model}")
        # A new database gets the package's code sets with `migrate`; a district's own
        # changes to a set already loaded are never overwritten here.
        post_migrate.connect(
            _load_missing_code_sets, sender=self, dispatch_uid="codes-load-missing"
        )
