"""Department sources for the exchange tests: health and civil affairs as JSON records, a
publisher for each, and a record to publish."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User

from renfang.accounts.models import PersonField, Role, RoleGrant
from renfang.sources.models import Source
from renfang.sources.services import source_add
from renfang.sources.services.publish.publishers import source_publishers_set

# 卫健: births and deaths, the hospital's own codes.
HEALTH_MAPPING = """\
record_id: "{编号}"
fields:
  id_type: resident_id
  id_number: "{身份证号}"
  name: "{姓名}"
  sex:
    value: "{性别}"
    codes: {男: "1", 女: "2"}
  birth_date: "{出生日期}"
  death_date: "{死亡日期}"
  residence_division: "{居住地}"
  residence_from: "{居住起始}"
"""

# 民政: marital status and deaths (funerals).
CIVIL_MAPPING = """\
record_id: "{身份证号}"
fields:
  id_type: resident_id
  id_number: "{身份证号}"
  name: "{姓名}"
  marital_status:
    value: "{婚姻状况}"
    codes: {未婚: "10", 已婚: "20", 离婚: "40"}
  death_date: "{死亡日期}"
"""


def health_record(**values: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"编号": "H1", "姓名": "张伟", "性别": "男"}
    record.update(values)
    return {key: value for key, value in record.items() if value is not None}


def department(code: str, name: str, mapping: str, username: str) -> tuple[Source, User]:
    """A source and the account of its system, allowed to publish to it (granted the district
    and every field: a publisher writes only within its grant)."""
    source = source_add(code, name, mapping, actor=None)
    user = User.objects.create_user(username, password="x-unused-x")
    RoleGrant.objects.create(
        user=user,
        role=Role.DEPARTMENT_READER,
        area_id="310104",
        fields=list(PersonField.values),
    )
    source_publishers_set(source, add=[username], actor=None)
    return source, user
