"""A griffe extension for the API reference (used by mkdocstrings, see mkdocs.yml).

jaxphys docstrings carry doctests under ``Example:`` (singular), under other
titles, or with no title at all. griffe's Google parser only turns ``>>>`` lines
into code inside an ``Examples:`` section; elsewhere Markdown would render them as
nested block quotes and read ``[0.1, 0.2]`` outputs as links. This extension fences
every doctest run (the ``>>>`` lines, their ``...`` continuations and the expected
output, up to a blank line or a dedent) as a ``pycon`` code block before griffe
parses the docstring, and renders Sphinx roles (``:func:`name```) as code spans.
The docstrings themselves are left as they are.
"""

import re

import griffe

_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj|exc):`~?([^`]+)`")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def fence_doctests(text: str) -> str:
    """Wrap each doctest run of ``text`` in a fenced ``pycon`` block."""
    out: list[str] = []
    fence_indent = None                       # indentation of the open fence, or None
    in_markdown_fence = False
    for line in text.split("\n"):
        stripped = line.strip()
        if fence_indent is not None and (not stripped or _indent(line) < fence_indent):
            out.append(" " * fence_indent + "```")
            fence_indent = None
        if fence_indent is None:
            if stripped.startswith("```"):
                in_markdown_fence = not in_markdown_fence
            elif stripped.startswith(">>>") and not in_markdown_fence:
                fence_indent = _indent(line)
                out.append(" " * fence_indent + "```pycon")
        out.append(line)
    if fence_indent is not None:
        out.append(" " * fence_indent + "```")
    return "\n".join(out)


class FencedDoctests(griffe.Extension):
    """Fence the doctests and unwrap the Sphinx roles of every docstring griffe loads."""

    def on_instance(self, *, obj, **kwargs):
        docstring = getattr(obj, "docstring", None)
        if docstring is None:
            return
        value = _ROLE.sub(r"`\1`", docstring.value)
        if ">>>" in value:
            value = fence_doctests(value)
        docstring.value = value
