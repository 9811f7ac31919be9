"""Words for the derived categories and hukou statuses, shown on pages and in exports."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from renfang.people.categories import Category, HukouStatus

CATEGORY_LABELS: dict[str, Promise] = {
    Category.REGISTERED: _("registered residents"),  # 户籍人口
    Category.DOMESTIC_MIGRANT: _("domestic migrants"),  # 来沪人员 / 流动人口
    Category.OVERSEAS: _("overseas"),  # 境外人员
}

HUKOU_STATUS_LABELS: dict[str, Promise] = {
    HukouStatus.CONSISTENT: _("living here, registered here"),  # 人户一致
    HukouStatus.LIVING_HERE_REGISTERED_ELSEWHERE: _("living here, registered elsewhere"),
    HukouStatus.REGISTERED_HERE_LIVING_ELSEWHERE: _("registered here, living elsewhere"),
    HukouStatus.REGISTERED_HERE_WHEREABOUTS_UNKNOWN: _("registered here, whereabouts unknown"),
}
# One person's category, in the singular, for the person page.
CATEGORY_LABEL_ONE: dict[str, Promise] = {
    Category.REGISTERED: _("registered resident"),
    Category.DOMESTIC_MIGRANT: _("domestic migrant"),
    Category.OVERSEAS: _("overseas person"),
}
