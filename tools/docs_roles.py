"""A griffe extension: Sphinx roles and ``::`` blocks in docstrings, rendered as Markdown.

The library's docstrings use Sphinx roles (``:class:`~andersen_ev.Tokens```), which IDEs
show well and which keep lines short; the API reference is built by mkdocstrings, which
reads Markdown. At build time, for every object's docstring:

* ``:role:`~a.b.C``` shows ``C``, ``:role:`a.b.C``` shows ``a.b.C`` and
  ``:role:`title <a.b.C>``` shows ``title``, as code linked to the target's entry in the
  reference. A relative name is resolved from the docstring's scope, as Python would. The
  link is an optional cross-reference: a target the reference does not render (a private
  module's constant, say) shows as code without a link instead of failing the build;
  ``tests/test_docs_build.py`` counts how many links resolved;
* a paragraph ending in ``::`` and the indented block after it become a fenced Python
  block;
* any role left afterwards (a malformed one) is reported, which fails the strict build.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
import sys
from pathlib import Path
from typing import Any

import griffe

_LOG = logging.getLogger("mkdocs.plugins.andersen_ev.sphinx_roles")
_ROLE = re.compile(
    r":(?:class|meth|attr|func|mod|data|exc|obj|const):`(~?)([^`<>]+?)(?:\s*<([^`<>]+)>)?`"
)
_LEFTOVER = re.compile(r":[a-z]+:`")


def _roles(obj: griffe.Object, text: str) -> str:
    """Every role of ``text`` as an optional cross-reference resolved from ``obj``."""

    def link(match: re.Match[str]) -> str:
        tilde, name, explicit = match.group(1), match.group(2).strip(), match.group(3)
        target = (explicit or name).strip().removesuffix("()")
        shown = name.removesuffix("()") if explicit else target
        if tilde:
            shown = shown.rsplit(".", 1)[-1]
        with contextlib.suppress(griffe.NameResolutionError, ValueError):
            target = obj.resolve(target)
        code = f"<code>{html.escape(shown)}</code>"
        return f'<autoref optional identifier="{html.escape(target)}">{code}</autoref>'

    return _ROLE.sub(link, text)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _literal_blocks(text: str) -> str:
    """``Paragraph::`` and its indented block -> ``Paragraph:`` and a fenced block."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        start = i + 1
        while start < len(lines) and not lines[start].strip():
            start += 1
        if not line.endswith("::") or start == len(lines) or _indent(lines[start]) <= _indent(line):
            out.append(lines[i])
            i += 1
            continue
        base, inner = _indent(line), _indent(lines[start])
        end = start
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) >= inner):
            end += 1
        while not lines[end - 1].strip():
            end -= 1
        head = line[:-2].rstrip()
        if head.strip():
            out += [head + ("" if head.endswith(":") else ":"), ""]
        pad = " " * base
        out.append(f"{pad}```python")
        out += [pad + code[inner:] if code.strip() else "" for code in lines[start:end]]
        out.append(f"{pad}```")
        i = end
    return "\n".join(out)


class SphinxRoles(griffe.Extension):
    """Rewrite each docstring's Sphinx markup as mkdocstrings Markdown."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring, once, when griffe loads it."""
        docstring = obj.docstring
        if docstring is None:
            return
        value = _literal_blocks(_roles(obj, docstring.value))
        if _LEFTOVER.search(value):
            _LOG.warning("unrendered Sphinx role left in the docstring of %s", obj.path)
        docstring.value = value


_RAW_MARKUP = re.compile(r":(?:class|meth|attr|func|mod|data|exc|obj|const|ref):`|::</p>")
_RESOLVED = re.compile(r'class="autorefs autorefs-internal"')
_UNRESOLVED = re.compile(r'<span title="andersen_ev\.[^"]*"><code>')


def check_site(site: Path) -> str:
    """Fail (``SystemExit``) if a built page shows raw Sphinx markup; return link counts."""
    raw: list[str] = []
    resolved = unresolved = 0
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        raw += [f"{page.relative_to(site)}: {m.group(0)!r}" for m in _RAW_MARKUP.finditer(text)]
        resolved += len(_RESOLVED.findall(text))
        unresolved += len(_UNRESOLVED.findall(text))
    if raw:
        raise SystemExit("unrendered Sphinx markup in the built site:\n" + "\n".join(raw))
    return (
        f"no raw Sphinx markup; {resolved} cross-links resolved, {unresolved} names shown "
        "as code without a link (not rendered in the reference)"
    )


if __name__ == "__main__":
    sys.stdout.write(check_site(Path(sys.argv[1])) + "\n")
