"""Open pages of the built docs site in headless Chromium with no network but 127.0.0.1 (``nox -s docs_browser``).

Serves the site on 127.0.0.1, maps every other host name to "not found" (``--host-resolver-rules``), and
dumps each page's DOM after its scripts ran. A page passes when its own text is there (the diagrams, drawn
as text) and the theme's script ran offline (it wraps tables in ``md-typeset__scrollwrap`` and adds copy
buttons to code blocks), so nothing on it waited for a CDN.

    python docs/hooks/browser.py SITE_DIR
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

#: page -> text that must be in its DOM once its scripts ran
PAGES = {
    "how-it-works/": ("rdsshare-example-db-222222222222-cmk", "the job: ShareJob.advance()"),
    "performance/": ("quota-bound ideal", "calls per item besides polls"),
}
#: what the theme's script adds to a page when it runs
RAN = ("md-typeset__scrollwrap", "md-code__button")


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("no Chromium found: install it (Debian: apt-get install chromium) to check the docs in a browser")


def check(site: Path) -> list[str]:
    """What is wrong with each page in the browser (nothing: an empty list)."""
    browser = _browser()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    http.server.SimpleHTTPRequestHandler.log_message = lambda *_: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    problems: list[str] = []
    try:
        for page, wanted in PAGES.items():
            url = f"http://127.0.0.1:{server.server_address[1]}/{page}"
            dom = subprocess.run(  # noqa: S603 - a fixed command line, the browser found on PATH
                [
                    browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--virtual-time-budget=5000",
                    "--dump-dom", url,
                ],
                capture_output=True, text=True, timeout=120, check=False,
            ).stdout  # fmt: skip
            problems += [f"{page}: {text!r} is not on the page" for text in wanted if text not in dom]
            problems += [f"{page}: the theme's script did not run ({mark} missing)" for mark in RAN if mark not in dom]
    finally:
        server.shutdown()
    return problems


if __name__ == "__main__":
    found = check(Path(sys.argv[1]))
    sys.stdout.write(("\n".join(found) or f"{len(PAGES)} pages render offline in {_browser()}") + "\n")
    sys.exit(1 if found else 0)
