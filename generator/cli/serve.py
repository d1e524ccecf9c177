"""``disclose serve [--port N]``: build, then serve the site locally for a preview."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

import click

from ..build import build as run_build
from . import Site, cli, handle_errors, pass_site, today_option


class PreviewHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the site's own 404 page, like the production web server."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".xml": "application/xml; charset=utf-8",
                      ".json": "application/json; charset=utf-8", ".html": "text/html; charset=utf-8"}

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

    def log_message(self, format: str, *args: object) -> None:  # quiet: one line per request is noise
        pass


@cli.command()
@click.option("--port", default=8000, show_default=True, help="Port to listen on (127.0.0.1).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=Path("output"), show_default=True, help="Folder to build into and serve.")
@click.option("--build/--no-build", "do_build", default=True, help="Build before serving (default) or serve the existing output.")
@today_option
@pass_site
@handle_errors
def serve(site: Site, port: int, host: str, output: Path, do_build: bool, today: str | None) -> None:
    """Build the site and serve a local preview (Ctrl+C to stop)."""
    out = output if output.is_absolute() else site.root / output
    if do_build:
        total = run_build(site.root, site.cfg, site.today(today), out)
        click.echo(f"已构建：公示 {total} 条记录")
    handler = functools.partial(PreviewHandler, directory=str(out))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        click.echo(f"预览地址：http://{host}:{port}/index.html （按 Ctrl+C 停止）")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            click.echo("已停止")
