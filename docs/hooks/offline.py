"""MkDocs hook: the built site loads nothing from the network (the docs work offline).

After the build, every page's scripts, stylesheets, images, fonts and frames must come from the site
itself; a ``src`` or ``href`` on those that names another host (a CDN, Google Fonts) fails the build, and
so does a Mermaid diagram (the theme's script fetches Mermaid from a CDN to draw it).
Links to other sites (``<a href>``) are fine: following one is the reader's choice.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# The attributes that make a browser fetch something while showing the page.
_LOADS = re.compile(
    r"<(?:script|img|iframe|source|audio|video)\b[^>]*?\bsrc=[\"']([^\"']+)[\"']"
    r"|<link\b[^>]*?\bhref=[\"']([^\"']+)[\"'][^>]*>",
    re.IGNORECASE,
)
_URL_IN_CSS = re.compile(r"url\(\s*[\"']?((?:https?:)?//[^\"')]+)", re.IGNORECASE)


def _remote(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


def offline_problems(site_dir: Path) -> list[str]:
    """Every off-site resource a page or stylesheet of ``site_dir`` would load."""
    problems: list[str] = []
    for page in sorted(site_dir.rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        if re.search(r"class=[\"'][^\"']*\bmermaid\b", html):
            # Material's bundle fetches Mermaid from unpkg.com for such blocks: draw diagrams as text.
            problems.append(f"{page.relative_to(site_dir)} has a Mermaid diagram (loaded from unpkg.com)")
        for match in _LOADS.finditer(html):
            tag = match.group(0)
            url = match.group(1) or match.group(2)
            if match.group(2) and re.search(r"rel=[\"']?(?:canonical|alternate)", tag):
                continue  # names the page, loads nothing
            if _remote(url):
                problems.append(f"{page.relative_to(site_dir)} loads {url}")
    for sheet in sorted(site_dir.rglob("*.css")):
        for url in _URL_IN_CSS.findall(sheet.read_text(encoding="utf-8")):
            problems.append(f"{sheet.relative_to(site_dir)} loads {url}")
    return problems


def on_post_build(config: Any, **_: Any) -> None:
    problems = offline_problems(Path(config["site_dir"]))
    if problems:
        listed = "\n  ".join(problems[:20])
        raise SystemExit(f"the site loads {len(problems)} resource(s) from the network:\n  {listed}")
