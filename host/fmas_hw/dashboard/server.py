"""The dashboard's HTTP server: optuna-dashboard's WSGI app, and the report's pages beside it.

The standard library's WSGI server, one thread per request (the dashboard's page asks for
several things at once), and quiet: a request is not a line on the terminal.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ..errors import DashboardError

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a request still open does not hold up Ctrl-C


class _IPv6Server(_ThreadingServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def routes(dashboard: WsgiApp, report: WsgiApp, report_path: str) -> WsgiApp:
    """One WSGI app: ``report_path`` (with or without its final slash) and below to ``report``,
    everything else to ``dashboard``."""
    prefix = report_path.rstrip("/")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == prefix or path.startswith(prefix + "/"):
            return report(environ, start_response)
        return dashboard(environ, start_response)

    return app


def listen(host: str, port: int) -> WSGIServer:
    """A server bound to ``host:port`` (port 0: a free one), not serving yet: give it its app
    with ``set_app``, then ``serve_forever``.

    Raises:
        DashboardError: the port is taken, or the address is not one of this computer's.
    """
    server_class = _IPv6Server if ":" in host else _ThreadingServer
    try:
        return make_server(host, port, _unset, server_class=server_class, handler_class=_QuietHandler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DashboardError(f"port {port} on {host} is already in use (another dashboard?): choose another "
                                 "with --port") from None
        raise DashboardError(f"cannot listen on {host} port {port} ({exc.strerror or exc}): give an address of "
                             "this computer with --host (default 127.0.0.1)") from None


def _unset(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def url(server: WSGIServer, path: str = "") -> str:
    """``http://host:port<path>`` of a bound server (its actual port when it was given 0)."""
    host, port = str(server.server_address[0]), int(server.server_address[1])
    return f"http://[{host}]:{port}{path}" if ":" in host else f"http://{host}:{port}{path}"
