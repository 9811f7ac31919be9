"""Users' roles, each bound to an area (分级分权), police areas, and API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DISTRICT_ADMIN = "district_admin", _("district administrator")  # 区管理员
    STREET_OFFICER = "street_officer", _("street population officer")  # 街道人口办
    COMMITTEE_CLERK = "committee_clerk", _("committee clerk")  # 居委干部
    COLLECTOR = "collector", _("collector")  # 采集员
    POLICE = "police", _("community police officer")  # 社区民警
    DEPARTMENT_READER = "department_reader", _("department reader")  # 部门用户
    AUDITOR = "auditor", _("auditor")  # 审计员
    SECURITY_OFFICER = "security_officer", _("security officer")  # 安全管理员


class PersonField(models.TextChoices):
    """The parts of a person's record a department reader may be granted (minimum necessary)."""

    ID_NUMBER = "id_number", _("ID number")
    NAME = "name", _("name")
    SEX = "sex", _("sex")
    BIRTH_DATE = "birth_date", _("birth date")
    ETHNICITY = "ethnicity", _("ethnicity")
    NATIONALITY = "nationality", _("nationality")
    HUKOU = "hukou", _("hukou")
    RESIDENCES = "residences", _("residences")
    PHONE = "phone", _("phone")
    EDUCATION = "education", _("education")
    MARITAL_STATUS = "marital_status", _("marital status")
    EMPLOYMENT = "employment", _("employment")
    TAGS = "tags", _("tags")


class PoliceArea(models.Model):
    """A community police officer's beat (警务区): a set of committees."""

    code = models.CharField(_("code"), max_length=20, primary_key=True)
    name = models.CharField(_("name"), max_length=100)
    committees = models.ManyToManyField(
        "areas.Area", verbose_name=_("committees"), related_name="police_areas"
    )

    class Meta:
        verbose_name = _("police area")
        verbose_name_plural = _("police areas")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class RoleGrant(models.Model):
    """One role of a user, bound to an area (or a police area for the police)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="role_grants",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    area = models.ForeignKey(
        "areas.Area",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="role_grants",
    )
    police_area = models.ForeignKey(
        PoliceArea,
        verbose_name=_("police area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="role_grants",
    )
    # Department readers only: the fields (PersonField) and sensitive tag codes ("tag:CODE")
    # the department is entitled to.
    fields = models.JSONField(_("granted fields"), default=list, blank=True)
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["user", "role"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(area__isnull=False) | models.Q(police_area__isnull=False),
                name="accounts_rolegrant_has_area",
            )
        ]

    def __str__(self) -> str:
        where = self.police_area or self.area
        return f"{self.get_role_display()} @ {where}"


class GrantRequest(models.Model):
    """A grant wider than its granter's own powers (or of the auditor or security officer
    role), waiting for a security officer (ADR 0020). It has no effect until approved: only
    ``RoleGrant`` rows give powers, and approving one makes (or changes) that row."""

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for approval")
        APPROVED = "approved", _("approved")
        REFUSED = "refused", _("refused")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="grant_requests",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    area = models.ForeignKey(
        "areas.Area",
        verbose_name=_("area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grant_requests",
    )
    police_area = models.ForeignKey(
        PoliceArea,
        verbose_name=_("police area"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="grant_requests",
    )
    fields = models.JSONField(_("granted fields"), default=list, blank=True)
    # The grant it would change (an existing role widened), or none (a new role).
    replaces = models.ForeignKey(
        RoleGrant,
        verbose_name=_("replaces"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reasons = models.JSONField(_("why it needs approval"), default=list, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.PENDING, db_index=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("grant request")
        verbose_name_plural = _("grant requests")
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        where = self.police_area_id or self.area_id
        return f"#{self.pk} {Role(self.role).label} @ {where}"


class ApiToken(models.Model):
    """A bearer token for a department system. Only a hash of the key is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
