"""Serving the console with uvicorn, alone (`python -m bot web`) or inside `run`.

Uvicorn's access log is off: a URL can carry a search term, and logs never carry personal data.
X-Forwarded-For/-Proto are believed only from `[web] trusted_proxies` (docs/console.md).
"""

from __future__ import annotations

import asyncio

from ..runtime import Runtime

__all__ = ["console_server", "serve_console"]


def console_server(runtime: Runtime, host: str | None = None, port: int | None = None):
    import uvicorn

    from .app import create_app

    web = runtime.config.web
    config = uvicorn.Config(
        create_app(runtime), host=host or web.host, port=port or web.port,
        access_log=False, log_config=None, proxy_headers=True,
        forwarded_allow_ips=list(web.trusted_proxies), server_header=False,
        lifespan="off",
    )
    return uvicorn.Server(config)


async def serve_console(runtime: Runtime, host: str | None = None, port: int | None = None,
                        stop: asyncio.Event | None = None) -> None:
    """Serve until the server stops (SIGINT/SIGTERM when alone) or `stop` is set."""
    server = console_server(runtime, host, port)
    if stop is None:
        await server.serve()
        return
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task
