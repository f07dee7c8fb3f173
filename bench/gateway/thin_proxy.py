"""The floor: the thinnest useful Python reverse proxy (aiohttp server on uvloop, one pooled
aiohttp client session), forwarding the body and streaming the response back as it comes.

    python -m bench.gateway.thin_proxy --port 8001 --upstream http://127.0.0.1:9000
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence

import aiohttp
import uvloop
from aiohttp import web

_FORWARDED = ("Content-Type", "Authorization")


def make_app(upstream: str) -> web.Application:
    """The proxy: every POST goes to the same path upstream; /health answers locally."""
    app = web.Application()
    session_key = web.AppKey("session", aiohttp.ClientSession)

    async def session_ctx(app: web.Application) -> AsyncIterator[None]:
        connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=60)
        app[session_key] = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        yield
        await app[session_key].close()

    async def forward(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {k: request.headers[k] for k in _FORWARDED if k in request.headers}
        async with app[session_key].post(upstream + request.path, data=body, headers=headers) as up:
            content_type = up.headers.get("Content-Type", "application/json")
            if not content_type.startswith("text/event-stream"):
                return web.Response(
                    body=await up.read(),
                    status=up.status,
                    content_type=None,
                    headers={"Content-Type": content_type},
                )
            response = web.StreamResponse(status=up.status, headers={"Content-Type": content_type})
            await response.prepare(request)
            async for chunk in up.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.cleanup_ctx.append(session_ctx)
    app.router.add_get("/health", health)
    app.router.add_post("/{path:.*}", forward)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until interrupted."""
    cli = argparse.ArgumentParser(prog="python -m bench.gateway.thin_proxy")
    cli.add_argument("--port", type=int, required=True)
    cli.add_argument("--upstream", required=True, help="e.g. http://127.0.0.1:9000")
    args = cli.parse_args(argv)
    app = make_app(args.upstream.rstrip("/"))
    loop = uvloop.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
