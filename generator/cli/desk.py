"""``disclose desk [--port N] [--no-browser]``: the editors' desk in a browser (:mod:`generator.deskapp`)."""

from __future__ import annotations

import errno
import os
import secrets
import socket
import tempfile
import webbrowser
from pathlib import Path

import click

from ..desk import Desk, write_shortcut
from ..deskapp import DeskApp
from ..errors import UserError
from .common import Site, cli, handle_errors, pass_site, today_option


@cli.command()
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="Port (default: a free one)."
)
@click.option("--no-browser", is_flag=True, help="Do not open the browser.")
@click.option(
    "--shortcut",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a launcher of this site's desk into this folder (a desktop) and exit.",
)
@today_option
@pass_site
@handle_errors
def desk(site: Site, port: int, no_browser: bool, shortcut: Path | None, today: str | None) -> None:
    """Serve the editors' desk on 127.0.0.1 until Ctrl+C.

    The first line printed is the desk's URL with its session token: only a browser that opened
    it can use the desk. Batches, import, approval, withdrawal and the preview, in Chinese.
    """
    import uvicorn

    if shortcut is not None:
        path = write_shortcut(site.root, shortcut)
        click.echo(f"已创建编辑台图标：{path}（双击即打开编辑台）")
        return
    day = site.today(today) if today is not None else None
    desk_socket = _listen(port)
    preview_socket = _listen(0)  # the preview: another origin (generator/deskapp.py)
    port = desk_socket.getsockname()[1]
    token = secrets.token_urlsafe(32)
    app = DeskApp(Desk(site.root, site.cfg, day), token, port, preview_socket.getsockname()[1])
    url = f"http://127.0.0.1:{port}/?token={token}"
    click.echo(url)
    click.echo("编辑台已启动（仅本机可访问）；关闭这个窗口或按 Ctrl+C 结束。", err=True)
    if not no_browser:
        webbrowser.open(_redirect_file(url).as_uri())
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    uvicorn.Server(config).run(sockets=[desk_socket, preview_socket])


def _listen(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise UserError(
                f"端口 {port} 已被占用：换一个 --port，或不写 --port 自动选择"
            ) from None
        raise
    return listener


def _redirect_file(url: str) -> Path:
    """A page readable by this user only that forwards to ``url``: the browser is opened on it, so
    the token never appears in a command line that other users of the computer can list (as
    Jupyter does)."""
    fd, name = tempfile.mkstemp(prefix="disclose-desk-", suffix=".html")  # mode 0600
    page = f'<!DOCTYPE html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url={url}">'
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(page + f'<a href="{url}">打开编辑台</a>\n')
    return Path(name)
