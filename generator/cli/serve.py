"""``disclose serve [--port N]``: build, then serve the site locally for a preview."""

from __future__ import annotations

import errno
import functools
import http.server
import sys
from pathlib import Path

import click

from ..build import build as run_build
from ..errors import UserError
from .common import Site, cli, handle_errors, pass_site, today_option


class PreviewHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the site's own 404 page, like the production web server."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".xml": "application/xml; charset=utf-8",
        ".json": "application/json; charset=utf-8",
        ".html": "text/html; charset=utf-8",
    }

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code == 404 and page.exists():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def send_head(self):
        """A path the file system cannot take (a NUL byte, an unencodable character) is a bad request."""
        try:
            return super().send_head()
        except ValueError:
            self.send_error(400, "Bad request path")
            return None

    def list_directory(self, path):
        """No listings: a folder without index.html is not a page (as on the production server)."""
        self.send_error(404)
        return None

    # Quiet: one line per request is noise
    def log_message(self, format: str, *args: object) -> None:
        pass


class PreviewServer(http.server.ThreadingHTTPServer):
    """One line, never a traceback, for a request that fails; none for a client that hung up."""

    def handle_error(self, request, client_address) -> None:
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            click.echo(
                f"预览服务器处理 {client_address[0]} 的请求时出错：{type(error).__name__}: {error}",
                err=True,
            )


def bind(host: str, port: int, handler) -> PreviewServer:
    """The preview server on ``host:port``; a port in use or an address that cannot be bound is a
    :class:`UserError` (one line, exit 2)."""
    try:
        return PreviewServer((host, port), handler)
    except OverflowError:
        raise UserError(f"端口 {port} 无效：应为 0–65535") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UserError(
                f"端口 {port} 已被占用（另一个 disclose serve 或其他程序正在使用）：请先停止它，或用 --port 换一个端口"
            ) from None
        if exc.errno == errno.EACCES:
            raise UserError(
                f"没有权限使用端口 {port}（1024 以下的端口需要管理员权限）：请用 --port 换一个端口"
            ) from None
        raise UserError(
            f"无法在 {host}:{port} 上启动预览服务器（{exc.strerror or exc}）：请检查 --host 与 --port"
        ) from None


@cli.command()
@click.option("--port", default=8000, show_default=True, help="Port to listen on (127.0.0.1).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("output"),
    show_default=True,
    help="Folder to build into and serve.",
)
@click.option(
    "--build/--no-build",
    "do_build",
    default=True,
    help="Build before serving (default) or serve the existing output.",
)
@today_option
@pass_site
@handle_errors
def serve(
    site: Site, port: int, host: str, output: Path, do_build: bool, today: str | None
) -> None:
    """Build the site and serve a local preview (Ctrl+C to stop)."""
    out = output if output.is_absolute() else site.root / output
    day = site.today(today)  # checked with --no-build too
    if not do_build and not out.is_dir():
        raise UserError(
            f"找不到要预览的网站目录：{output}（先运行 disclose build，或去掉 --no-build）"
        )
    handler = functools.partial(PreviewHandler, directory=str(out))
    with bind(host, port, handler) as server:  # before the build: a port in use writes nothing
        if do_build:
            total = run_build(site.root, site.cfg, day, out).total
            click.echo(f"已构建：公示 {total} 条记录")
        click.echo(f"预览地址：http://{host}:{port}/index.html （按 Ctrl+C 停止）")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("已停止")
