"""Publishing one record: a department's system sends a record of its source as it changes.

The record is one line of a JSON Lines import of the source (its columns → values) and takes
the import's path: the source's current mapping reads it (code translation, dates, IDs),
``records_store`` keeps it (a new record, a new version, or nothing when it is unchanged), its
unmapped codes are counted. A record that a file import would flag (a value that cannot be
read) is refused instead: the system that sent it is there to hear why and send it again.

Then, in the same transaction, the record is given its person and the person's golden record
is refreshed, which writes the audit events and the feed events of whatever changed
(``golden_refresh``). A new record with a valid resident ID that a person already holds is
linked to that person (rule ``id``, as ``renfang resolve`` would); any other new record becomes
a person of its own (``singleton``), until the next ``renfang resolve`` looks at it with every
other record (ADR 0014, "Incremental publish"). A changed record keeps its person. Sending the
same record again changes nothing and publishes nothing.

A publisher writes only within its grant (ADR 0022). A record that states a division outside
the publisher's areas, or sets a field (or a tag) the publisher is not granted, is refused
(``OutsideGrant``, audited as denied) before any person is looked up: the refusal depends on
the record and the grant alone. A record that would change a person the publisher cannot read
(the holder of its ID number, or the person the record is already linked to, lives outside the
publisher's areas) is held unapplied (``HeldRecord``) for someone who sees that person, audited
as denied, and answered exactly as a record of a new person would be. The answer names the
record and its status, never a person: publishing is no test of whether an ID number exists.

The package: ``record`` (``record_publish``: taking one record), ``reading`` (the record read
by the source's mapping), ``grant`` (what a publisher may state and whom it may change),
``linking`` (the person a new record is), ``held`` (held records and their decision),
``publishers`` (``source_publishers_set``), ``outcomes`` (``Published`` and the refusals).
"""
