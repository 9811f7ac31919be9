"""Linkage (身份识别): which source records are one person, and what people decided about it.

``renfang resolve`` writes each record's person and the reason (on ``SourceRecord``); pairs it is
unsure of wait here for a reviewer. A reviewer's decision, a merge and a split are remembered and
never overturned by the next run.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReviewStatus(models.TextChoices):
    OPEN = "open", _("to review")
    SAME = "same", _("linked: one person")
    DIFFERENT = "different", _("kept apart")


class ReviewPair(models.Model):
    """Two source records that might be one person (``left_id < right_id``)."""

    left = models.ForeignKey(
        "sources.SourceRecord",
        verbose_name=_("left record"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # served by the unique (left, right)
    )
    right = models.ForeignKey(
        "sources.SourceRecord",
        verbose_name=_("right record"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    probability = models.FloatField(_("match probability"))
    match_weight = models.FloatField(_("match weight"))
    # {field: {"weight": w, "level": "exact pinyin"…}…}
    weights = models.JSONField(_("weights per field"), default=dict)
    status = models.CharField(
        _("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.OPEN
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("review pair")
        verbose_name_plural = _("review pairs")
        ordering = ["status", "-probability"]
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="linkage_pair_unique"),
            models.CheckConstraint(
                condition=models.Q(left__lt=models.F("right")), name="linkage_pair_ordered"
            ),
        ]
        indexes = [models.Index(fields=["status"], name="linkage_pair_status")]

    def __str__(self) -> str:
        return f"{self.left_id} ~ {self.right_id} ({self.status})"


class ResolveRun(models.Model):
    """One run of ``renfang resolve``: what it did and what it cost."""

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    records = models.PositiveIntegerField(_("records"), default=0)
    linked_by_id = models.PositiveIntegerField(_("linked by ID"), default=0)
    linked_by_weights = models.PositiveIntegerField(_("linked by weights"), default=0)
    to_review = models.PositiveIntegerField(_("pairs to review"), default=0)
    new_persons = models.PositiveIntegerField(_("new persons"), default=0)
    changed_links = models.PositiveIntegerField(_("changed links"), default=0)
    # The trained model (Splink's settings with m and u probabilities) and the thresholds.
    model = models.JSONField(_("model"), default=dict, blank=True)

    class Meta:
        verbose_name = _("resolve run")
        verbose_name_plural = _("resolve runs")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"resolve {self.started_at:%Y-%m-%d %H:%M}"


class MergeKind(models.TextChoices):
    MERGE = "merge", _("merge")
    SPLIT = "split", _("split")


class PersonMerge(models.Model):
    """A merge (``merged`` into ``survivor``) or a split (``records`` of ``survivor`` moved to the
    new person ``merged``), with who, when and why. Undoing a merge is a split and vice versa."""

    kind = models.CharField(_("kind"), max_length=5, choices=MergeKind.choices)
    survivor = models.ForeignKey(
        "people.Person",
        verbose_name=_("survivor"),
        on_delete=models.CASCADE,
        related_name="merges_kept",
    )
    merged = models.ForeignKey(
        "people.Person",
        verbose_name=_("merged or split off"),
        on_delete=models.CASCADE,
        related_name="merges_gone",
    )
    records = models.JSONField(_("source records moved"), default=list)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=300)

    class Meta:
        verbose_name = _("merge or split")
        verbose_name_plural = _("merges and splits")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.merged_id} → {self.survivor_id}"
