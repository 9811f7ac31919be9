"""Actual population (实有人口): people, and the facts about them that hold over time.

Categories (overseas, domestic migrant, registered resident) and hukou status are derived from
these facts by ``renfang.people.categories``; none of them is stored as typed input.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from renfang.core.models import TimeValidFact


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("resident ID card")  # 居民身份证
    PASSPORT = "passport", _("passport")  # 护照
    HK_MO_PERMIT = "hk_mo_permit", _("Hong Kong/Macau travel permit")  # 港澳居民来往内地通行证
    TW_PERMIT = "tw_permit", _("Taiwan travel permit")  # 台湾居民来往大陆通行证
    FOREIGN_PR = "foreign_pr", _("foreigner's permanent residence card")  # 外国人永久居留身份证
    OTHER = "other", _("other identifier")  # a department's own person number, social security…


class Person(models.Model):
    """One real person: the identity every other fact hangs on."""

    id_type = models.CharField(_("ID type"), max_length=16, choices=IdType.choices, blank=True)
    # Empty for a person that no source knows by a usable identifier.
    id_number = models.CharField(_("ID number"), max_length=32, blank=True)
    name = models.CharField(_("name"), max_length=100, db_index=True)
    sex = models.CharField(_("sex"), max_length=1)  # GB/T 2261.1
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    # Set by the golden record from the sources authoritative for deaths (data/golden.toml).
    death_date = models.DateField(_("death date"), null=True, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=2, blank=True)  # GB 3304
    nationality = models.CharField(_("nationality"), max_length=3, default="CHN")  # GB/T 2659
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Set when this person was merged into another: the old id keeps answering with the survivor.
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
    )
    # The golden record's provenance, field by field: {field: {"value": …, "source": code,
    # "record": source record pk, "as_of": ISO date-time}} (renfang.people.golden writes it).
    golden = models.JSONField(_("provenance"), default=dict, db_default={}, blank=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number", "id_type"],
                condition=~models.Q(id_number="") & models.Q(merged_into__isnull=True),
                name="people_person_identity_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name


class IdentityRevision(models.Model):
    """An identity field corrected: the old value is kept, never lost."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="revisions")
    field = models.CharField(_("field"), max_length=30)
    old_value = models.CharField(_("old value"), max_length=200, blank=True)
    new_value = models.CharField(_("new value"), max_length=200, blank=True)
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("identity revision")
        verbose_name_plural = _("identity revisions")
        ordering = ["person", "changed_at"]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} → {self.new_value}"


class HouseholdType(models.TextChoices):
    FAMILY = "family", _("family household")  # 家庭户
    COLLECTIVE = "collective", _("collective household")  # 集体户


class Hukou(TimeValidFact):
    """Household registration (户籍): where it is held, over time."""

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="hukous",
        db_index=False,  # served by the (person, …) index below
    )
    division = models.CharField(_("hukou division"), max_length=12)
    address = models.CharField(_("hukou address"), max_length=300, blank=True)
    household_type = models.CharField(
        _("household type"), max_length=10, choices=HouseholdType.choices, blank=True
    )

    class Meta:
        verbose_name = _("hukou")
        verbose_name_plural = _("hukous")
        ordering = ["person", "valid_from"]
        indexes = [models.Index(fields=["person", "valid_from"], name="people_hukou_person_from")]


class ResidenceRelation(models.TextChoices):
    OWNER = "owner", _("owner")  # 房主
    FAMILY = "family", _("family of the owner")  # 家属
    TENANT = "tenant", _("tenant")  # 租客
    DORMITORY = "dormitory", _("dormitory")  # 集体宿舍
    OTHER = "other", _("other")  # 其他


class Residence(TimeValidFact):
    """A spell of living somewhere: in a house, or only in a division when the house is not
    known. A spell with no division records that the person's whereabouts were unknown, from
    a day nobody may know (``valid_from`` empty: since always, ADR 0028); a spell in a division
    always has its first day (the register import requires it)."""

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="residences",
        db_index=False,  # served by the (person, …) index below
    )
    division = models.CharField(_("residence division"), max_length=20, null=True, blank=True)
    house = models.ForeignKey(
        "houses.House",
        verbose_name=_("house"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="residences",
    )
    relation = models.CharField(
        _("relation"), max_length=10, choices=ResidenceRelation.choices, blank=True
    )

    class Meta:
        verbose_name = _("residence")
        verbose_name_plural = _("residences")
        ordering = ["person", "valid_from"]
        indexes = [
            models.Index(fields=["person", "valid_from"], name="people_res_person_from"),
            models.Index(fields=["house", "valid_from"], name="people_res_house_from"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=False)
                | models.Q(division__isnull=True)
                | models.Q(division=""),
                name="people_res_unknown_start_unknown_place",
            )
        ]


class AttributeKind(models.TextChoices):
    PHONE = "phone", _("phone")
    EDUCATION = "education", _("education")  # GB/T 4658
    MARITAL_STATUS = "marital_status", _("marital status")  # GB/T 2261.2
    EMPLOYMENT = "employment", _("employment")


class PersonAttribute(TimeValidFact):
    """A simple fact about a person that changes over time (phone, education, marital status,
    employment); the value is a code from the code set of the same name, or a phone number."""

    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="attributes",
        db_index=False,  # served by the (person, …) index below
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AttributeKind.choices)
    value = models.CharField(_("value"), max_length=100)

    class Meta:
        verbose_name = _("person attribute")
        verbose_name_plural = _("person attributes")
        ordering = ["person", "kind", "valid_from"]
        indexes = [
            models.Index(fields=["kind", "value"], name="people_attr_kind_value"),
            models.Index(fields=["person", "kind"], name="people_attr_person_kind"),
        ]


class PersonTag(TimeValidFact):
    """Membership of a key group (重点人群): elderly living alone, disabled, … over time.
    The tag's code set says which tags are sensitive."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="tags"
    )
    tag = models.CharField(_("tag"), max_length=40)  # code set person_tag
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["person", "tag", "valid_from"]


class ConflictStatus(models.TextChoices):
    OPEN = "open", _("open")
    VISIT = "visit", _("sent for a visit")
    SETTLED = "settled", _("settled")


class Conflict(models.Model):
    """A source that disagrees with the authoritative value of a field (e.g. civil affairs says
    married, family planning says unmarried): for the street office to settle or visit."""

    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="conflicts"
    )
    field = models.CharField(_("field"), max_length=30)
    golden_value = models.CharField(_("authoritative value"), max_length=300)
    golden_source = models.CharField(_("authoritative source"), max_length=40)
    other_value = models.CharField(_("other value"), max_length=300)
    other_source = models.CharField(_("other source"), max_length=40)
    other_record = models.ForeignKey(
        "sources.SourceRecord",
        verbose_name=_("other record"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ConflictStatus.choices, default=ConflictStatus.OPEN
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("settled by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    created_at = models.DateTimeField(_("found at"), auto_now_add=True)

    class Meta:
        verbose_name = _("conflict")
        verbose_name_plural = _("conflicts")
        ordering = ["status", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "field", "other_record"], name="people_conflict_unique"
            )
        ]
        indexes = [models.Index(fields=["status", "field"], name="people_conflict_status")]

    def __str__(self) -> str:
        return f"{self.person_id}.{self.field}: {self.golden_value} / {self.other_value}"


class IdentifyBudget(models.Model):
    """How many identification attempts a user has missed in the current window (ADR 0021):
    exact ID or phone number searches that found no one (``kind`` "number"), and detail
    reads of a person that is not there or not the user's (``kind`` "record"). One row per user
    and kind, read by its unique index before every exact-number search."""

    user_id = models.IntegerField(_("user id"))  # no foreign key: it outlives nothing
    kind = models.CharField(_("kind"), max_length=10)
    window_start = models.DateTimeField(_("window start"))
    misses = models.PositiveIntegerField(_("misses"), default=0)
    alerted = models.BooleanField(_("alerted"), default=False)

    class Meta:
        verbose_name = _("identification budget")
        verbose_name_plural = _("identification budgets")
        constraints = [
            models.UniqueConstraint(fields=["user_id", "kind"], name="people_identify_user_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.misses}"
