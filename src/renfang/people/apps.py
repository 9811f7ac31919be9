from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "renfang.people"
    label = "people"
    verbose_name = _("people")

    def ready(self) -> None:
        from renfang.people.golden import policy  # noqa: F401, PLC0415 (registers its checks)
