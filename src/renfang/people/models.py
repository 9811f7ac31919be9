"""Actual population (实有人口): people, and the facts about them that hold over time.

Categories (overseas, domestic migrant, registered resident) and hukou status are derived from
these facts by ``renfang.people.categories``; none of them is stored as typed input.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from renfang.core.models import TimeValidFact


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("resident ID card")  # 居民身份证
    PASSPORT = "passport", _("passport")  # 护照
    HK_MO_PERMIT = "hk_mo_permit", _("Hong Kong/Macau travel permit")  # 港澳居民来往内地通行证
    TW_PERMIT = "tw_permit", _("Taiwan travel permit")  # 台湾居民来往大陆通行证
    FOREIGN_PR = "foreign_pr", _("foreigner's permanent residence card")  # 外国人永久居留身份证


class Person(models.Model):
    """One real person: the identity every other fact hangs on."""

    id_type = models.CharField(_("ID type"), max_length=16, choices=IdType.choices)
    id_number = models.CharField(_("ID number"), max_length=32)
    name = models.CharField(_("name"), max_length=100, db_index=True)
    sex = models.CharField(_("sex"), max_length=1)  # GB/T 2261.1
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=2, blank=True)  # GB 3304
    nationality = models.CharField(_("nationality"), max_length=3, default="CHN")  # GB/T 2659
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number", "id_type"], name="people_person_identity_unique"
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
    known. A spell with no division records that the person's whereabouts were unknown."""

    valid_from = models.DateField(_("valid from"))
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
