"""MkDocs hook: a page line ``<!-- include benchmarks/results/results.md -->`` is replaced
by that file (path relative to the project root), its title dropped and its headings
moved one level down, so the benchmarks page always shows the latest committed results
of ``python -m benchmarks``. A missing file fails the build."""

import re
from pathlib import Path

_INCLUDE = re.compile(r"^<!-- include (\S+) -->$", flags=re.M)


def _included(root: Path, relative: str) -> str:
    text = (root / relative).read_text(encoding="utf-8")
    lines = text.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join("#" + line if line.startswith("#") else line for line in lines)


def on_page_markdown(markdown, page, config, files):
    root = Path(config["config_file_path"]).parent
    return _INCLUDE.sub(lambda m: _included(root, m.group(1)), markdown)
