"""The audit log: append-only events, each hash-chained to the one before (防篡改)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    READ = "read", _("read")
    SEARCH = "search", _("search")
    EXPORT = "export", _("export")
    WRITE = "write", _("write")
    UNMASK = "unmask", _("unmask")
    LOGIN = "login", _("login")
    LOGIN_FAILED = "login_failed", _("failed login")
    LOGOUT = "logout", _("logout")
    DENIED = "denied", _("denied")
    ADMIN = "admin", _("user administration")
    PURGE = "purge", _("purge")
    # Issue 11: an exact-number search or a detail read of a record that is not there (or not
    # the user's) is an identification attempt; a user over the bound raises an alert.
    IDENTIFY = "identify", _("identification attempt")
    ALERT = "alert", _("alert")


class Channel(models.TextChoices):
    PAGE = "page", _("page")
    API = "api", _("API")
    COMMAND = "command", _("command")


class AuditEvent(models.Model):
    """Who did what to which record, when, from where, and why.

    No foreign keys: an event must outlive the user and the record it names, and nothing may
    ever rewrite it. ``hash`` is SHA-256 over the event's content and ``prev_hash``.
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(_("time"), db_index=True)
    user_id = models.IntegerField(_("user id"), null=True, blank=True)
    username = models.CharField(_("user"), max_length=150, blank=True)
    ip = models.CharField(_("from"), max_length=45, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    record_type = models.CharField(_("record type"), max_length=20, blank=True)
    record_id = models.CharField(_("record"), max_length=64, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    purpose = models.CharField(_("purpose"), max_length=300, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["record_type", "record_id", "id"], name="audit_event_record"),
            models.Index(fields=["user_id", "id"], name="audit_event_user"),
            models.Index(fields=["action", "id"], name="audit_event_action"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.action}"


class AuditHead(models.Model):
    """The chain's last link: one row, locked by every append, checked by ``verify`` (a
    deleted last event would otherwise leave no trace)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    # ADR 0019: events up to this id were hashed with plain SHA-256 (before the audit key);
    # every later one with HMAC. ``mac`` signs (last_id, last_hash, legacy_upto) with the key.
    legacy_upto = models.BigIntegerField(default=0)
    mac = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("audit chain head")

    def __str__(self) -> str:
        return f"#{self.last_id} {self.last_hash[:12]}"


class AuditPersonRef(models.Model):
    """A person shown by a list, search or export event (the ids are in the event's chained
    detail, ``person_ids``; this is their index, checked by ``verify``). ADR 0018."""

    id = models.BigAutoField(primary_key=True)
    event_id = models.BigIntegerField()
    person_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("person shown in an audited list")
        indexes = [
            models.Index(fields=["person_id", "event_id"], name="audit_ref_person"),
            models.Index(fields=["event_id"], name="audit_ref_event"),
        ]

    def __str__(self) -> str:
        return f"#{self.event_id} person {self.person_id}"
