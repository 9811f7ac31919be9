from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeopleConfig(AppConfig):
    name = "renfang.people"
    label = "people"
    verbose_name = _("people")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created  # noqa: PLC0415

        from renfang.core import writeguard  # noqa: PLC0415
        from renfang.people import facts  # noqa: F401, PLC0415 (names the door's tables)

        # Every connection is locked: the door's tables are written only through the door.
        connection_created.connect(writeguard.lock, dispatch_uid="renfang-one-door")
        from renfang.people.golden import policy  # noqa: F401, PLC0415 (registers its checks)
