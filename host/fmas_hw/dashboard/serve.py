"""``serve``: the dashboard of one store, from its first mirror to Ctrl-C."""

from __future__ import annotations

import ipaddress
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from optuna_dashboard import wsgi

from . import source
from .mirror import Mirror, default_path
from .pages import PATH, ReportPages, default_folder
from .server import listen, routes, url
from .watch import POLL_SECONDS, Watcher


def serve(store: str | Path, host: str = "127.0.0.1", port: int = 8080, study_path: str | Path | None = None,
          interval: float = POLL_SECONDS, echo: Callable[[str], None] = print) -> None:
    """Mirror ``store`` into its study file and serve optuna-dashboard on it until interrupted
    (Ctrl-C, or SIGTERM), syncing in the background.

    Args:
        store: the search store (read only).
        host / port: where to listen (port 0: a free one; the address is echoed).
        study_path: the Optuna study file (default :func:`~.mirror.default_path`).
        interval: seconds between two looks at the store.
        echo: where the progress lines go.

    Raises:
        StoreError: not a readable search store.
        DashboardError: the port is taken, the address unavailable, or the study file not this
            store's mirror or not writable.
    """
    store = Path(store)
    search = source.read(store)
    mirror = Mirror(study_path or default_path(store), search)
    server = listen(host, port)  # before writing anything: a taken port leaves no study file behind
    pages = ReportPages(default_folder(mirror.path))
    watcher = Watcher(store, mirror, pages, interval=interval, log=echo)
    try:
        with _sigterm_interrupts():
            echo(f"mirroring {len(search.candidates)} evaluation(s) of {store} into {mirror.path}")
            mirror.sync(search, PATH)
            server.set_app(routes(wsgi(mirror.storage()), pages.app(), PATH))
            echo(f"dashboard: {url(server, f'/dashboard/studies/{mirror.study_id()}')} (the report: "
                 f"{url(server, PATH)}); Ctrl-C stops it")
            if not ipaddress.ip_address(server.server_address[0]).is_loopback:
                echo(f"warning: listening on {host}, not loopback: whoever reaches it can read the study and "
                     "edit its notes (optuna-dashboard has no login)")
            watcher.start()
            server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        watcher.stop()
        server.server_close()
    echo("dashboard stopped")


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM stops the server as Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
