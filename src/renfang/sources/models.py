"""Source systems (数据来源) and what they sent: every record as received and as mapped.

A source is a department system (the police household register, civil affairs, human
resources…, and renfang's own register). Its mapping file (YAML, versioned) says how its columns
become renfang's fields. Each record it sends is kept by its ``record_id`` within the source; a
re-import that changes a record makes a new version of it, one that does not changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The source code of renfang's own register (the register import of issue 1 writes its records).
REGISTER_SOURCE = "register"


class Source(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The department systems' accounts that may publish records of this source one at a time
    # (``POST /api/sources/{code}/records``); set by the district administrator.
    publishers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("publishers"),
        blank=True,
        related_name="published_sources",
    )

    class Meta:
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def current_mapping(self) -> Mapping | None:
        return self.mappings.order_by("-version").first()


class Mapping(models.Model):
    """One version of a source's mapping file, kept as written."""

    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.CASCADE, related_name="mappings"
    )
    version = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("mapping (YAML)"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.CharField(_("created by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("mapping")
        verbose_name_plural = _("mappings")
        ordering = ["source", "version"]
        constraints = [
            models.UniqueConstraint(fields=["source", "version"], name="sources_mapping_version")
        ]

    def __str__(self) -> str:
        return f"{self.source.code} v{self.version}"


class ImportStatus(models.TextChoices):
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    REFUSED = "refused", _("refused")


class SourceImport(models.Model):
    """One file read from a source: what it held and what it changed."""

    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.CASCADE, related_name="imports"
    )
    mapping = models.ForeignKey(
        Mapping, verbose_name=_("mapping"), on_delete=models.PROTECT, null=True, blank=True
    )
    file_name = models.CharField(_("file"), max_length=300)
    file_sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.RUNNING
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    actor = models.CharField(_("by"), max_length=150, blank=True)
    records = models.PositiveIntegerField(_("records read"), default=0)
    new = models.PositiveIntegerField(_("new"), default=0)
    changed = models.PositiveIntegerField(_("changed"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    flagged = models.PositiveIntegerField(_("flagged"), default=0)
    # {"problems": [{"record_id", "line", "field", "value", "reason"}…] (the first ones),
    #  "unmapped": [{"field", "value", "records"}…], "message": "why it was refused"}
    report = models.JSONField(_("report"), default=dict, blank=True)

    class Meta:
        verbose_name = _("source import")
        verbose_name_plural = _("source imports")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.source.code} {self.file_name}"


class LinkRule(models.TextChoices):
    """How a source record came to belong to its person."""

    ID_NUMBER = "id", _("equal valid ID number")
    IDENTIFIER = "identifier", _("equal other identifier")
    PROBABILISTIC = "probabilistic", _("match weights")
    SINGLETON = "singleton", _("no match: a person of its own")
    REVIEW = "review", _("reviewer linked")
    MERGE = "merge", _("persons merged")
    SPLIT = "split", _("person split")


# Rules that a person decided: `renfang resolve` never changes such a link.
PINNED_RULES = frozenset({LinkRule.REVIEW, LinkRule.MERGE, LinkRule.SPLIT})


class SourceRecord(models.Model):
    """A record of a source, as it stands now (its latest version), and the person it is."""

    source = models.ForeignKey(
        Source,
        verbose_name=_("source"),
        on_delete=models.CASCADE,
        related_name="records",
        db_index=False,  # served by the unique (source, record_id)
    )
    record_id = models.CharField(_("record id"), max_length=200)
    version = models.PositiveIntegerField(_("version"), default=1)
    # field -> value (strings; dates ISO), after the mapping; a field that could not be read is
    # absent here and listed in ``problems``.
    mapped = models.JSONField(_("mapped values"), default=dict)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    flagged = models.BooleanField(_("flagged"), default=False)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    person = models.ForeignKey(
        "people.Person",
        verbose_name=_("person"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="source_records",
    )
    link_rule = models.CharField(
        _("link rule"), max_length=16, choices=LinkRule.choices, blank=True
    )
    # Why: {"rule": …, "id_number": …} or {"match_weight": w, "probability": p,
    # "weights": {field: w…}, "with": record pk}
    link_detail = models.JSONField(_("link detail"), default=dict, blank=True)
    linked_at = models.DateTimeField(_("linked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("source record")
        verbose_name_plural = _("source records")
        constraints = [
            models.UniqueConstraint(fields=["source", "record_id"], name="sources_record_unique")
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.record_id}"

    @property
    def pinned(self) -> bool:
        return self.link_rule in PINNED_RULES


class SourceRecordVersion(models.Model):
    """A record exactly as one import received it (raw) and as the mapping read it (mapped)."""

    record = models.ForeignKey(
        SourceRecord,
        verbose_name=_("record"),
        on_delete=models.CASCADE,
        related_name="versions",
        db_index=False,  # served by the unique (record, version)
    )
    version = models.PositiveIntegerField(_("version"))
    source_import = models.ForeignKey(
        SourceImport, verbose_name=_("import"), on_delete=models.SET_NULL, null=True, blank=True
    )
    raw = models.JSONField(_("raw values"), default=dict)
    mapped = models.JSONField(_("mapped values"), default=dict)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("source record version")
        verbose_name_plural = _("source record versions")
        ordering = ["record", "version"]
        constraints = [
            models.UniqueConstraint(fields=["record", "version"], name="sources_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.record} v{self.version}"


class UnmappedCode(models.Model):
    """A source value that no code table knows: reported, kept visible, never dropped."""

    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.CASCADE, related_name="unmapped_codes"
    )
    field = models.CharField(_("field"), max_length=30)
    value = models.CharField(_("value"), max_length=200)
    records = models.PositiveIntegerField(_("records"), default=0)
    first_seen = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen = models.DateTimeField(_("last seen"), default=timezone.now)

    class Meta:
        verbose_name = _("unmapped code")
        verbose_name_plural = _("unmapped codes")
        ordering = ["source", "field", "-records"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "field", "value"], name="sources_unmapped_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.field}={self.value}"


class HeldRecord(models.Model):
    """A published record that would change a person its publisher may not read (the holder
    of its ID number, or the person its record id is linked to, lives outside the publisher's
    areas): kept unapplied, for someone who sees that person to review (ADR 0022). The
    publisher was answered as if it had been taken, so that publishing is no test of whether
    an ID number is held outside its areas; the hold is audited as denied."""

    source = models.ForeignKey(
        Source, verbose_name=_("source"), on_delete=models.CASCADE, related_name="held_records"
    )
    record_id = models.CharField(_("record id"), max_length=200)
    raw = models.JSONField(_("raw values"), default=dict)
    mapped = models.JSONField(_("mapped values"), default=dict)
    person_id = models.BigIntegerField(_("person"))
    publisher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("publisher"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)

    class Meta:
        verbose_name = _("held record")
        verbose_name_plural = _("held records")
        ordering = ["received_at", "pk"]
        indexes = [models.Index(fields=["source", "record_id"], name="sources_held_record")]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.record_id}"
