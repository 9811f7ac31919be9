"""The audit chain keyed and anchored (ADR 0019), and lists indexed by person (ADR 0018).

- The head gains ``legacy_upto`` (the switch-over point: events up to it keep their plain
  SHA-256, every later one is an HMAC under the audit key) and ``mac`` (the head signed with
  the key). An existing head is signed here, with the key of this deployment.
- ``AuditPersonRef``: the person ids a list, search or export showed, by person.
- PostgreSQL: the append-only trigger lets a DELETE through only when the transaction presents
  the purge token (derived from the audit key); its SHA-256 is written into the function, so a
  client that merely sets ``renfang.audit_purge`` is refused.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

from renfang.audit.keys import purge_token_digest

POSTGRESQL_GATE = """
    CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND encode(sha256(convert_to(
            coalesce(current_setting('renfang.audit_purge', true), ''), 'UTF8')), 'hex')
            = '{digest}' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
    END
    $$ LANGUAGE plpgsql
"""
POSTGRESQL_OPEN_GATE = """
    CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('renfang.audit_purge', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
    END
    $$ LANGUAGE plpgsql
"""


def gate_sql() -> str:
    digest = purge_token_digest()
    assert all(c in "0123456789abcdef" for c in digest)  # noqa: S101 (a literal in SQL)
    return POSTGRESQL_GATE.replace("{digest}", digest)


def _close_gate(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(gate_sql(), params=None)


def _open_gate(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_OPEN_GATE, params=None)


def _sign_head(apps: Any, schema_editor: Any) -> None:
    """The switch-over: the events so far stay SHA-256; the head is signed from now on."""
    from renfang.audit.services import head_mac  # noqa: PLC0415

    head_model = apps.get_model("audit", "AuditHead")
    for head in head_model.objects.using(schema_editor.connection.alias).all():
        head.legacy_upto = head.last_id
        head.mac = head_mac(head.last_id, head.last_hash, head.legacy_upto)
        head.save(update_fields=["legacy_upto", "mac"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_identify_and_alert_actions")]

    operations = [
        migrations.AddField(
            model_name="audithead",
            name="legacy_upto",
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="audithead",
            name="mac",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(_sign_head, migrations.RunPython.noop),
        migrations.CreateModel(
            name="AuditPersonRef",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("event_id", models.BigIntegerField()),
                ("person_id", models.BigIntegerField()),
            ],
            options={
                "verbose_name": "person shown in an audited list",
                "indexes": [
                    models.Index(fields=["person_id", "event_id"], name="audit_ref_person"),
                    models.Index(fields=["event_id"], name="audit_ref_event"),
                ],
            },
        ),
        migrations.RunPython(_close_gate, _open_gate),
    ]
