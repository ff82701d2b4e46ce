"""The docs site works offline: the build hook that refuses pages loading anything from the network.

``mkdocs build --strict`` (``nox -s docs``) runs ``docs/hooks/offline.py`` after the build; here its
detector runs on small sites, so that a page pulling a script, a font or a Mermaid diagram from a CDN is
caught even where the docs dependencies are not installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("offline_hook", ROOT / "docs" / "hooks" / "offline.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _site(tmp_path: Path, html: str, css: str = "") -> Path:
    (tmp_path / "page").mkdir()
    (tmp_path / "page" / "index.html").write_text(html, encoding="utf-8")
    (tmp_path / "extra.css").write_text(css, encoding="utf-8")
    return tmp_path


def test_a_page_of_local_assets_and_outside_links_passes(tmp_path: Path) -> None:
    html = (
        '<link rel="stylesheet" href="../assets/main.css"><script src="../assets/bundle.js"></script>'
        '<link rel="canonical" href="https://example.org/page/"><a href="https://aws.amazon.com/">AWS</a>'
    )
    assert _hook().offline_problems(_site(tmp_path, html, "body { background: url(img.png) }")) == []


def test_cdn_scripts_fonts_and_mermaid_are_caught(tmp_path: Path) -> None:
    html = (
        '<script src="https://unpkg.com/mermaid@11/dist/mermaid.min.js"></script>'
        '<link href="https://fonts.googleapis.com/css?family=Roboto" rel="stylesheet">'
        '<img src="//cdn.example.com/diagram.png"><pre class="mermaid">flowchart LR</pre>'
    )
    problems = _hook().offline_problems(_site(tmp_path, html, "@font-face { src: url('https://fonts.gstatic.com/x') }"))
    assert problems == [
        "page/index.html has a Mermaid diagram (loaded from unpkg.com)",
        "page/index.html loads https://unpkg.com/mermaid@11/dist/mermaid.min.js",
        "page/index.html loads https://fonts.googleapis.com/css?family=Roboto",
        "page/index.html loads //cdn.example.com/diagram.png",
        "extra.css loads https://fonts.gstatic.com/x",
    ]


def test_the_docs_draw_no_mermaid_and_load_no_web_fonts() -> None:
    assert not [p.name for p in (ROOT / "docs").rglob("*.md") if "```mermaid" in p.read_text(encoding="utf-8")]
    assert "  font: false\n" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "docs/hooks/offline.py" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
