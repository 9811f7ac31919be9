"""The API of sources (数据来源): the source systems, each with its mapping versions and import
history, and the codes they sent that no code table knows (unmapped codes).

For roles that manage sources (``manages_sources``); others are refused (403). Import reports
quote values sources sent: ID and phone numbers in them are masked as on the pages.

The package: ``schemas`` (what it takes and answers), ``queries`` (what the operations look up
and build), ``endpoints`` (the operations, on ``router`` and ``unmapped_router``). ADR 0029.
"""
