"""``eventform docs``: the catalog as Markdown and as a static HTML site, from the same source of truth.

Markdown pages are rendered from jinja2 templates (``eventform/authoring/templates/docs/``); the HTML site is the same
Markdown converted with markdown-it (raw HTML in catalog text is escaped) inside one layout, with ``.md`` links
rewritten to ``.html`` and mermaid diagrams rendered client-side by the mermaid.js the project installs from npm (no
CDN). The site is built in a temporary directory and swapped into place, so a failed build leaves the previous site
intact.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment as Jinja
from jinja2 import PackageLoader, StrictUndefined
from markdown_it import MarkdownIt

from eventform.authoring import asyncapi
from eventform.authoring.docs_pages import (
    PATHS,
    Page,
    duration,
    function_rows,
    pages,
    producers,
    queue_info,
    schema_fields,
)
from eventform.authoring.topology import DETAIL_LIMIT, topology
from eventform.catalog.model import Catalog, Environment
from eventform.synthesis import toolchain
from eventform.synthesis.lock import output_lock

MERMAID = Path("node_modules/mermaid/dist/mermaid.min.js")


class DocsError(Exception):
    """The site cannot be built (e.g. mermaid.js is not installed)."""


@dataclass(frozen=True)
class DocsResult:
    out: Path
    pages: int
    seconds: float


# ------------------------------------------------------------------------------------------------------------
# Rendering
# ------------------------------------------------------------------------------------------------------------
def _cell(value: Any) -> str:
    """A Markdown table cell: pipes escaped, on one line."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def pattern_json(value: Any, indent: str = "") -> str:
    """JSON for patterns and filter policies: objects indented, short lists and objects on one line."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(indent) + len(flat) <= 100 or not isinstance(value, (dict, list)):
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {pattern_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    return "[\n" + ",\n".join(f"{inner}{pattern_json(v, inner)}" for v in value) + f"\n{indent}]"


def _templates() -> Jinja:
    jinja = Jinja(
        loader=PackageLoader("eventform.authoring", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown; HTML escaping happens in markdown-it
    )
    jinja.filters["cell"] = _cell
    jinja.filters["duration"] = duration
    jinja.filters["tojson_compact"] = lambda value: json.dumps(value, sort_keys=True)
    jinja.filters["pretty_json"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)
    jinja.filters["pattern_json"] = pattern_json
    return jinja


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    rules = md.renderer.rules  # type: ignore[attr-defined]  # RendererHTML's; the protocol does not declare it
    default_link = rules.get("link_open")
    default_fence = rules["fence"]

    def link_open(tokens, index, options, env):
        href = tokens[index].attrGet("href") or ""
        if not re.match(r"^[a-z]+:", href):
            tokens[index].attrSet("href", re.sub(r"\.md(#|$)", r".html\1", href))
        if default_link:
            return default_link(tokens, index, options, env)
        return md.renderer.renderToken(tokens, index, options, env)

    def fence(tokens, index, options, env):
        token = tokens[index]
        if token.info.strip() == "mermaid":
            return f'<pre class="mermaid">{md.utils.escapeHtml(token.content)}</pre>\n'  # type: ignore[attr-defined]
        return default_fence(tokens, index, options, env)

    rules["link_open"] = link_open
    rules["fence"] = fence
    return md


def _relative_link(from_page: str, to_page: str) -> str:
    depth = from_page.count("/")
    return "../" * depth + to_page + ".md"


MARKER = ".eventform-site"


def check_out(out: Path, project: Path) -> None:
    """Refuse an output folder whose replacement would destroy something that is not a previous site."""
    project = project.resolve()
    if out == project or out in project.parents:
        raise DocsError(
            f"--out {out}: the site folder would contain the project at {project}; "
            "fix: choose a folder of its own, e.g. --out site"
        )
    if out.exists() and not out.is_dir():
        raise DocsError(f"--out {out}: is a file; fix: remove it or choose another folder, e.g. --out site")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise DocsError(
            f"--out {out}: the folder exists, is not empty and was not written by eventform docs "
            f"(no {MARKER}); the build replaces the whole folder. fix: choose an empty or new folder, "
            "e.g. --out site"
        )


def build(catalog: Catalog, environments: tuple[Environment, ...], out: Path, root: Path | None = None) -> DocsResult:
    """Write ``out/**/*.md`` and ``out/**/*.html`` (+ assets and AsyncAPI documents); return the page count.

    The site is built in a staging folder beside ``out`` and swapped into place under ``out``'s lock."""
    started = time.perf_counter()
    mermaid = (root or toolchain.project_root()) / MERMAID
    if not mermaid.is_file():
        mermaid = toolchain.project_root() / MERMAID
    if not mermaid.is_file():
        raise DocsError(f"{MERMAID} is missing: run `make setup` (npm ci installs mermaid)")
    all_pages = pages(catalog, environments)
    out = out.resolve()
    check_out(out, catalog.root.parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    with output_lock(out, "docs"):
        _recover(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.docs-", dir=out.parent))
        try:
            _write_site(all_pages, catalog, environments, staging, mermaid)
            _swap(staging, out)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return DocsResult(out=out, pages=len(all_pages), seconds=time.perf_counter() - started)


def _recover(out: Path) -> None:
    """Under the lock, whatever a killed build left is stale: its staging folders go, and a site it had retired
    but not replaced (``.<out>.old``) comes back."""
    for leftover in out.parent.glob(f".{out.name}.docs-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    retired = out.with_name(f".{out.name}.old")
    if retired.is_dir() and not out.exists():
        retired.rename(out)
    shutil.rmtree(retired, ignore_errors=True)


def _swap(staging: Path, out: Path) -> None:
    retired = out.with_name(f".{out.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if out.exists():
        out.rename(retired)
    staging.rename(out)
    shutil.rmtree(retired, ignore_errors=True)


def _write_site(
    all_pages: list[Page], catalog: Catalog, environments: tuple[Environment, ...], staging: Path, mermaid: Path
) -> None:
    """Render every page (Markdown + HTML), the assets and the AsyncAPI documents into ``staging``."""
    jinja = _templates()
    md = _markdown()
    layout = jinja.get_template("docs/layout.html.j2")
    for page in all_pages:

        def link(target: str, page: Page = page) -> str:
            return _relative_link(page.path, target)

        markdown = jinja.get_template(f"docs/{page.template}").render(
            catalog=catalog,
            environments=environments,
            link=link,
            **PATHS,
            **page.context,
        )
        base = "../" * page.path.count("/")
        html = layout.render(
            title=page.title,
            body=md.render(markdown),
            base=base,
            has_diagram="```mermaid" in markdown,
            catalog=catalog,
        )
        target = staging / page.path
        target.parent.mkdir(parents=True, exist_ok=True)
        (target.parent / f"{target.name}.md").write_text(markdown, encoding="utf-8")
        (target.parent / f"{target.name}.html").write_text(html, encoding="utf-8")
    assets = staging / "assets"
    assets.mkdir()
    shutil.copyfile(mermaid, assets / "mermaid.min.js")
    shutil.copyfile(Path(__file__).parent / "templates/docs/style.css", assets / "style.css")
    asyncapi.export(catalog, staging / "asyncapi")
    (staging / MARKER).write_text("generated by eventform docs: this whole folder is replaced on every build\n")


__all__ = [
    "DETAIL_LIMIT",
    "DocsError",
    "DocsResult",
    "Page",
    "build",
    "check_out",
    "function_rows",
    "pages",
    "producers",
    "queue_info",
    "schema_fields",
    "topology",
]
