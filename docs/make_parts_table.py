"""Print the parameter tables of the part families as Markdown.

The tables in ``docs/dataset.md`` (section "Part families") are this
script's output; ``tests/test_parts.py`` checks that they are current.
Run from the repository root:

    .venv/bin/python docs/make_parts_table.py > /tmp/tables.md
"""

from __future__ import annotations

from svr_desktop.data.parts import FAMILIES


def parameter_row(param) -> str:
    """One table row: name, kind, range and meaning of a parameter."""
    kind = type(param).__name__.lower()
    return f"| `{param.name}` | {kind} | {param.describe()} | {param.doc} |"


def family_tables() -> str:
    """A heading, the description and a parameter table for every family."""
    blocks = []
    for name, family in FAMILIES.items():
        rows = "\n".join(parameter_row(p) for p in family.params)
        blocks.append(f"#### `{name}`\n\n{family.description}\n\n"
                      f"| parameter | kind | range | meaning |\n|---|---|---|---|\n{rows}\n")
    return "\n".join(blocks)


if __name__ == "__main__":
    print(family_tables(), end="")
