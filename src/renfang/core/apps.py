from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "renfang.core"
    label = "core"
    verbose_name = "renfang core"
