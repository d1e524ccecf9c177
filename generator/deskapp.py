"""``disclose desk`` on the web: a Starlette application over :class:`generator.desk.Desk`.

Safe by construction, for a server on the editor's own computer:

- it is bound to ``127.0.0.1`` only (:mod:`generator.cli.desk`), and answers only requests whose
  ``Host`` is that address or ``localhost`` at its port (a web page cannot reach it through a DNS
  name that it re-points to 127.0.0.1);
- every request needs the session token that ``disclose desk`` prints in the URL it opens (as
  Jupyter does): the first visit with ``?token=`` sets it as an ``HttpOnly``, ``SameSite=Strict``
  cookie and redirects to the same page without it;
- a request that changes anything is a POST from a form of the desk: its ``Origin`` is the desk's,
  and it carries the desk's CSRF token (derived from the session token);
- uploads are refused above :data:`MAX_UPLOAD` bytes before they are read, and streamed to a
  file of the desk's folder;
- the preview (``output/``, whose pages run the site's scripts) is served from a second port: a
  different origin, whose scripts can neither read the desk's pages nor post to it (their
  ``Origin`` is not the desk's); only its files, never through a link, GET only, with the same
  token;
- pages are rendered by Jinja2 with autoescaping and carry a Content-Security-Policy without
  scripts: the desk works without JavaScript.

Every action is a call of :class:`~generator.desk.Desk`, which calls the same functions as the
command line; a :class:`~generator.errors.UserError` is shown as its one line.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import os
import stat
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .desk import Desk
from .errors import UserError
from .review import render_report
from .schema import KIND_NAMES, KINDS

MAX_UPLOAD = 200 << 20  # bytes: a department's export is far smaller
COOKIE = "desk_session"
_DESK_CSP = (
    "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_COPY = 1 << 20


class DeskApp:
    """The routes, the guard and the pages of one desk (``port``: where it listens)."""

    def __init__(self, desk: Desk, token: str, port: int, preview_port: int):
        self.desk = desk
        self.token = token
        self.port = port
        self.preview_port = preview_port
        self.preview_base = f"http://127.0.0.1:{preview_port}"
        self.csrf = hmac.new(token.encode(), b"desk-csrf", hashlib.sha256).hexdigest()
        self.hosts = {f"127.0.0.1:{port}"}
        self.origins = {f"http://{host}" for host in self.hosts}
        routes = [
            Route("/", self.batches),
            Route("/batches/{batch_id}", self.batch),
            Route("/batches/{batch_id}/approve", self.approve, methods=["POST"]),
            Route("/import", self.import_form),
            Route("/import", self.upload, methods=["POST"]),
            Route("/import/{upload}", self.ingest, methods=["POST"]),
            Route("/withdraw", self.withdraw_form),
            Route("/withdraw", self.withdraw, methods=["POST"]),
            Route("/preview", self.preview),
            Route("/preview", self.start_preview, methods=["POST"]),
            Route("/preview/report", self.preview_report),
            Route("/publish", self.publish),
            Route("/publish", self.push, methods=["POST"]),
        ]
        handlers = {Exception: self.failed, 404: self.failed, 405: self.failed, 400: self.failed}
        self.app = Starlette(routes=routes, exception_handlers=handlers)
        self.previews = Starlette(
            routes=[Route("/{path:path}", site_file)], exception_handlers=handlers
        )
        self.previews.state.output = desk.root / "output"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        preview = scope.get("server", (None, None))[1] == self.preview_port
        request = Request(scope, receive)
        refused = self.guard(request, preview)
        if refused is not None:
            await refused(scope, receive, send)
            return
        await (self.previews if preview else self.app)(scope, receive, send)

    async def failed(self, request: Request, exc: Exception) -> Response:
        """Any request that cannot be answered: one Chinese line, never a traceback."""
        status = getattr(exc, "status_code", 500)
        message = {
            404: "没有这个页面",
            405: "不能这样访问这个页面",
            400: "请求的格式不对（上传的表单可能不完整），请回到上一页重试",
        }.get(
            status,
            "编辑台处理这个请求时出错，未做任何更改；请回到上一页重试，或把出错的批次号告诉管理员",
        )
        return refusal(message, status)

    # -- the guard ----------------------------------------------------------------------------

    def guard(self, request: Request, preview: bool = False) -> Response | None:
        """None when the request may proceed; else the response that refuses it (``preview``: a
        request to the preview's port, which takes the same token and only GETs files)."""
        port = self.preview_port if preview else self.port
        if request.headers.get("host", "") != f"127.0.0.1:{port}":
            return refusal("请求的主机名不是本机地址 127.0.0.1，已拒绝", 403)
        if preview:
            if request.method not in ("GET", "HEAD"):
                return refusal("预览只能浏览", 405)
            session = request.cookies.get(COOKIE, "")
            if not hmac.compare_digest(session.encode(), self.token.encode()):
                return refusal("缺少访问令牌：请从编辑台的“预览与发布”打开预览", 403)
            return None
        offered = request.query_params.get("token")
        if offered is not None:
            if not hmac.compare_digest(offered.encode(), self.token.encode()):
                return refusal("访问令牌不正确：请使用 disclose desk 打印的网址打开编辑台", 403)
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            # One leading slash: "//host/" or "/\\host/" would leave the desk
            target = "/" + request.url.path.lstrip("/\\") + (f"?{urlencode(rest)}" if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(
                COOKIE, self.token, httponly=True, samesite="strict", path="/", secure=False
            )
            return response
        session = request.cookies.get(COOKIE, "")
        if not hmac.compare_digest(session.encode(), self.token.encode()):
            return refusal(
                "缺少访问令牌：请使用 disclose desk 打印的网址（含 token=…）打开编辑台", 403
            )
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin")
            if origin not in self.origins or request.headers.get("sec-fetch-site") == "cross-site":
                return refusal("跨站提交已拒绝：请在编辑台页面上操作", 403)
        return None

    async def checked_form(self, request: Request, **limits: Any) -> Any:
        """The POSTed form, once its CSRF token is the desk's (UserError otherwise)."""
        form = await request.form(**limits)
        if not hmac.compare_digest(str(form.get("csrf", "")).encode(), self.csrf.encode()):
            await form.close()
            raise PermissionError("表单已过期或不是编辑台发出的：请刷新页面后重试")
        return form

    # -- pages --------------------------------------------------------------------------------

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        for name, default in (("message", ""), ("error", ""), ("refresh", False), ("current", "")):
            context.setdefault(name, default)
        context.setdefault("today", self.desk.today().isoformat())
        html = render_report(
            self.desk.root,
            self.desk.cfg,
            f"desk/{template}",
            csrf=self.csrf,
            kinds=[KINDS[name] for name in KIND_NAMES],
            **context,
        )
        return HTMLResponse(html, status_code=status, headers=headers())

    async def batches(self, request: Request) -> Response:
        q = request.query_params
        filters = {k: q.get(k, "").strip() for k in ("kind", "source", "since", "until")}
        return self.page(
            "batches.html",
            rows=self.desk.batches(**filters),
            filters=filters,
            problems=self.desk.problems(),
            message=q.get("message", ""),
        )

    async def batch(self, request: Request) -> Response:
        try:
            context = self.desk.batch(request.path_params["batch_id"])
        except UserError as exc:
            return self.page("error.html", 404, problem=str(exc))
        q = request.query_params
        return self.page(
            "batch.html", message=q.get("message", ""), error=q.get("error", ""), **context
        )

    async def approve(self, request: Request) -> Response:
        batch_id = request.path_params["batch_id"]
        try:
            form = await self.checked_form(request)
            message = self.desk.approve(batch_id, str(form.get("editor", "")))
        except PermissionError as exc:
            return refusal(str(exc), 403)
        except UserError as exc:
            return self.see(f"/batches/{batch_id}", error=str(exc))
        return self.see(f"/batches/{batch_id}", message=message)

    def see(self, path: str, **params: str) -> RedirectResponse:
        return RedirectResponse(f"{path}?{urlencode(params)}", status_code=303)

    async def import_form(self, request: Request) -> Response:
        return self.page("import.html", error=request.query_params.get("error", ""))

    async def upload(self, request: Request) -> Response:
        """Step 1: the file is stored, its kind guessed; the editor confirms it (step 2)."""
        try:
            length = int(request.headers.get("content-length", ""))
        except ValueError:
            return refusal("上传缺少长度信息，已拒绝", 411)
        if length > MAX_UPLOAD:
            return self.page(
                "import.html", 413, error=f"文件太大（上限 {MAX_UPLOAD >> 20} MiB），未上传"
            )
        try:
            form = await self.checked_form(request, max_files=1, max_fields=8)
        except PermissionError as exc:
            return refusal(str(exc), 403)
        try:
            upload = form.get("file")
            if upload is None or isinstance(upload, str) or not upload.filename:
                raise UserError("请选择要导入的文件")
            target = self.desk.upload_path(upload.filename)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out:
                while chunk := await upload.read(_COPY):
                    out.write(chunk)
        except UserError as exc:
            return self.page("import.html", 400, error=str(exc))
        finally:
            await form.close()
        guessed = self.desk.guess_kind(target)
        return self.page(
            "confirm.html",
            upload=target.parent.name,
            filename=target.name,
            guessed=guessed,
            source=str(form.get("source", "")).strip(),
        )

    async def ingest(self, request: Request) -> Response:
        """Step 2: ``disclose ingest`` on the stored upload with the kind the editor confirmed."""
        try:
            form = await self.checked_form(request)
        except PermissionError as exc:
            return refusal(str(exc), 403)
        folder = self.desk.folder / "uploads" / request.path_params["upload"]
        files = sorted(folder.iterdir()) if _plain_name(folder.name) and folder.is_dir() else []
        kind = str(form.get("kind", ""))
        if len(files) != 1 or kind not in KINDS:
            return self.page(
                "import.html", 400, error="上传的文件已不在，或没有选择类别：请重新上传"
            )
        try:
            result = self.desk.ingest(files[0], kind, str(form.get("source", "")).strip())
        except UserError as exc:
            return self.page("import.html", 400, error=str(exc))
        c = result.counts
        notes = "".join(f"{m}；" for m in result.messages)
        return self.see(
            f"/batches/{result.batch_id}",
            message=f"{notes}已导入为批次 {result.batch_id}：共 {c['rows']} 行，接收 {c['accepted']} 行，"
            f"拒绝 {c['rejected']} 行，重复 {c['duplicates']} 行，不予公开 {c['withheld']} 行",
        )

    async def withdraw_form(self, request: Request) -> Response:
        q = request.query_params
        key, kind = q.get("q", "").strip(), q.get("kind", "")
        found = self.desk.find(key, kind if kind in KINDS else "") if key else []
        return self.page(
            "withdraw.html",
            key=key,
            kind=kind,
            found=found,
            searched=bool(key),
            reasons=self.desk.cfg.WITHDRAW_REASONS,
            editors=self.desk.editors(),
            error=q.get("error", ""),
        )

    async def withdraw(self, request: Request) -> Response:
        try:
            form = await self.checked_form(request)
        except PermissionError as exc:
            return refusal(str(exc), 403)
        fields = {k: str(form.get(k, "")) for k in ("kind", "id", "reason", "editor", "q")}
        try:
            if fields["kind"] not in KINDS:
                raise UserError("没有选择记录类别")
            batch_id, created = self.desk.withdraw(
                fields["kind"], fields["id"], fields["reason"], fields["editor"]
            )
        except UserError as exc:
            return self.see("/withdraw", q=fields["q"], error=str(exc))
        return self.see(
            f"/batches/{batch_id}",
            message=(
                "撤下申请已建立：它和其他批次一样，审核通过后才生效"
                if created
                else "同一撤下申请已经存在，没有重复建立；审核通过后生效"
            ),
        )

    async def preview(self, request: Request) -> Response:
        status = self.desk.preview.status()
        return self.page(
            "preview.html",
            build=status,
            refresh=status["state"] == "running",
            preview_base=self.preview_base,
        )

    async def start_preview(self, request: Request) -> Response:
        try:
            await self.checked_form(request)
        except PermissionError as exc:
            return refusal(str(exc), 403)
        self.desk.start_preview()
        return RedirectResponse("/preview", status_code=303)

    async def preview_report(self, request: Request) -> Response:
        report = self.desk.preview.report()
        if report is None:
            return self.page("error.html", 404, problem="还没有构建报告：先构建一次预览")
        return HTMLResponse(report.read_text(encoding="utf-8"), headers=headers())

    async def publish(self, request: Request) -> Response:
        return self.page("publish.html", done=None, said=[])

    async def push(self, request: Request) -> Response:
        try:
            await self.checked_form(request)
        except PermissionError as exc:
            return refusal(str(exc), 403)
        done, said = self.desk.publish(f"编辑台：审核结果（{self.desk.today().isoformat()}）")
        return self.page("publish.html", done=done, said=said)


def headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": _DESK_CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def refusal(message: str, status: int) -> HTMLResponse:
    html = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>已拒绝</title>'
        f"</head><body><main><h1>已拒绝</h1><p>{_escape(message)}</p>"
        '<p><a href="/">回到编辑台首页</a></p></main></body></html>'
    )
    return HTMLResponse(html, status_code=status, headers=headers())


async def site_file(request: Request) -> Response:
    """A file of the preview (``output/``) on the preview's port: never outside it, never
    through a link or a dot-folder."""
    path = request.app.state.output
    parts = [p for p in request.path_params["path"].split("/") if p]
    if any(p in (".", "..") or p.startswith(".") or "\0" in p or "\\" in p for p in parts):
        return refusal("不能访问这个路径", 404)
    target = path.joinpath(*parts)
    try:
        for at in range(len(parts) + 1):  # no link anywhere on the way
            if stat.S_ISLNK(os.lstat(path.joinpath(*parts[:at])).st_mode):
                return refusal("不能访问这个路径", 404)
        if target.is_dir():
            target = target / "index.html"
        if not stat.S_ISREG(os.lstat(target).st_mode):
            raise OSError
    except OSError:
        return refusal("预览中没有这个文件（先构建预览）", 404)
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return FileResponse(target, media_type=kind, headers=headers)


def _plain_name(name: str) -> bool:
    return len(name) == 16 and all(c in "0123456789abcdef" for c in name)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
