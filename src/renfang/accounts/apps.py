from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "renfang.accounts"
    label = "accounts"
    verbose_name = _("accounts and roles")

    def ready(self) -> None:
        from renfang.accounts import checks, signals  # noqa: F401, PLC0415 (registers them)
