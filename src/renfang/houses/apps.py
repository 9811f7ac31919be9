from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HousesConfig(AppConfig):
    name = "renfang.houses"
    label = "houses"
    verbose_name = _("houses")
