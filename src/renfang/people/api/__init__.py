"""The API of people: search and lists, one person, their residences, and unmasking.

Everything goes through the scoped selectors of ``renfang.people.selectors``: the same people
as the pages, the same audit. What a role sees of a person follows ``Access``: identifiers
masked unless the role needs them whole, sensitive tags only for roles entitled to them, and a
department reader only the fields of its grant (the others are null).

The package: ``schemas`` (what it takes and answers), ``queries`` (what the operations look up
and build; the search API uses them too), ``endpoints`` (the operations, on ``router``).
ADR 0029.
"""

from renfang.people.api.endpoints import router
from renfang.people.api.queries import people_page, refuse_number_in_url
from renfang.people.api.schemas import PeopleQuery, PersonPageOut

__all__ = ["PeopleQuery", "PersonPageOut", "people_page", "refuse_number_in_url", "router"]
