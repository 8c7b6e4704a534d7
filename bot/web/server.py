"""Serving the console with uvicorn, alone (`python -m bot web`) or inside `run`.

Uvicorn's access log is off: a URL can carry a search term, and logs never carry personal data.
X-Forwarded-For/-Proto are believed only from `[web] trusted_proxies` (docs/console.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from ..runtime import Runtime

__all__ = ["console_server", "serve_console"]


def console_server(runtime: Runtime, host: str | None = None, port: int | None = None,
                   embedded: bool = False):
    """The uvicorn server of the console. `embedded`: inside `run` (or a test), whose own
    SIGINT/SIGTERM handling stops it; uvicorn must not take the signals for itself."""
    import uvicorn

    from .app import create_app

    class Embedded(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    web = runtime.config.web
    config = uvicorn.Config(
        create_app(runtime), host=host or web.host, port=port or web.port,
        access_log=False, log_config=None, proxy_headers=True,
        forwarded_allow_ips=list(web.trusted_proxies), server_header=False,
        lifespan="off",
    )
    return Embedded(config) if embedded else uvicorn.Server(config)


async def serve_console(runtime: Runtime, host: str | None = None, port: int | None = None,
                        stop: asyncio.Event | None = None) -> None:
    """Serve until the server stops (SIGINT/SIGTERM when alone) or `stop` is set."""
    server = console_server(runtime, host, port, embedded=stop is not None)
    if stop is None:
        await server.serve()
        return
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task
