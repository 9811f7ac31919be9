from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "renfang.audit"
    label = "audit"
    verbose_name = _("audit log")

    def ready(self) -> None:
        from renfang.audit import checks, signals  # noqa: F401, PLC0415 (registers them)
