"""The one test world (issue 12, ADR 0031): the factories every app's tests build their worlds
with, and the few scenes made of them.

Every person fact is written through the one door (``renfang.people.facts``, ADR 0024), the
way an import, a form or the golden refresh writes it in production; users get their roles
through the role services. ``by_hand()`` plants only states no path produces, and says so.

- ``areas``: the one area tree (Shanghai, Xuhui with two streets and three committees, a
  grid, Changning) and its codes;
- ``houses``: houses with their uses;
- ``people``: persons and their facts (hukou, residences, phones, tags);
- ``users``: users with a role bound to an area, and logged-in clients;
- ``sources``: sources, source records linked to persons, and golden records;
- ``district``: the page tests' district (Zhang, Li, Smith, Wang);
- ``matrix``: the access matrix's district (one person per committee, one user per role),
  with its sources, review pairs and conflicts.

Production code never imports this package (the ``testing`` import contract).
"""
