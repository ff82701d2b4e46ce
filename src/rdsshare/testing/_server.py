"""The plumbing of the bed's sessions and of server mode: one botocore loader, a quiet moto server."""

from __future__ import annotations

import functools
import logging
from typing import Any

import boto3
import botocore.loaders
import botocore.session

from .rules.requests import INTERNAL_HEADER

__all__ = ["mark_internal", "new_session", "server_class"]

_log = logging.getLogger("rdsshare.testing")


@functools.cache
def _shared_loader() -> botocore.loaders.Loader:
    """One botocore data loader for all test bed sessions, so service models are parsed once."""
    return botocore.loaders.create_loader()


def new_session(**kwargs: Any) -> boto3.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _shared_loader())
    return boto3.Session(botocore_session=core, **kwargs)


@functools.cache
def server_class() -> type[Any]:
    """``ThreadedMotoServer`` that logs requests at debug level and stops quickly.

    moto's server logs every request to stderr through werkzeug, and ``serve_forever`` polls for
    shutdown every 0.5 s, which would add half a second to every server-mode test bed.
    """
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class QuietRequestHandler(MotoRequestHandler):
        def log(self, type: str, message: str, *args: Any) -> None:
            _log.debug("moto server %s: " + message, type, *args)

    class TestBedServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(
                self._ip_address,
                self._port,
                app,
                threaded=True,
                request_handler=QuietRequestHandler,
            )
            self._server_ready_event.set()
            self._server.serve_forever(poll_interval=0.02)

    return TestBedServer


def mark_internal(request: Any, **_: Any) -> None:
    """Tag the test bed's own AssumeRole requests so they are neither faulted nor recorded."""
    request.headers[INTERNAL_HEADER] = "1"
