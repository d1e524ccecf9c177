"""``disclose desk``: an editor's whole day in real Chromium on the demo content, and the refusals
(bad file, untrusted key, missing token, cross-site POST). The desk is the installed command,
started as an editor starts it; the browser does what an editor does."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from generator.signing import create_key

from .conftest import FIXTURES, REPO, serve_directory
from .test_browser import run_axe

pytestmark = pytest.mark.browser

DAY = "2026-11-20"
DEMO_EDITOR = "示例编辑甲"  # the demo key (tests/demo-keys), trusted by the demo content
DOCNO = "东市监罚〔2026〕101号"  # first row of the fixture export


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    """The demo site root (content, theme, settings; no output yet), the demo key, and the desk
    serving it; yields {"url", "base", "root", "keys"} (url: with the token)."""
    root = tmp_path_factory.mktemp("desk") / "site"
    root.mkdir()
    shutil.copy(REPO / "pelicanconf.py", root / "pelicanconf.py")
    shutil.copytree(REPO / "theme", root / "theme")
    for part in ("batches", "editors", "pages"):
        shutil.copytree(REPO / "content" / part, root / "content" / part)
    keys = tmp_path_factory.mktemp("desk-keys")
    for name in (DEMO_EDITOR, f"{DEMO_EDITOR}.pub"):
        shutil.copy(REPO / "tests" / "demo-keys" / name, keys / name)
    os.chmod(keys / DEMO_EDITOR, 0o600)
    create_key("陌生人", keys)  # a key that no editor of this site trusts
    env = dict(os.environ, DISCLOSE_KEY_DIR=str(keys))
    process = subprocess.Popen(
        [sys.executable, "-m", "generator.cli", "desk", "--no-browser", "--today", DAY],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        match = re.fullmatch(r"(http://127\.0\.0\.1:\d+)/\?token=([\w-]{40,})", url)
        assert match, url
        yield {"url": url, "base": match.group(1), "root": root, "keys": keys}
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def editor_page(browser, desk):
    """A browser tab that opened the desk's URL (the token now a cookie)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(desk["url"])
    assert page.url == desk["base"] + "/"  # the token left the address bar
    yield page
    context.close()


def _no_violations(page) -> None:
    violations = run_axe(page)
    assert violations == [], violations


@pytest.mark.slow
def test_an_editors_whole_day_in_the_browser(editor_page, desk, tmp_path):
    page = editor_page
    assert page.locator("h1").inner_text() == "批次"
    assert "待审核" in page.locator("table").inner_text()
    _no_violations(page)

    # 导入: upload, the kind guessed from the header and confirmed, then the batch's review
    page.get_by_role("link", name="导入").click()
    _no_violations(page)
    upload = tmp_path / "东台市场监管局-行政处罚.csv"
    shutil.copy(FIXTURES / "department-penalty-gb18030.csv", upload)
    page.set_input_files("#file", str(upload))
    page.fill("#source", "东台市市场监督管理局")
    page.get_by_role("button", name="上传并识别类别").click()
    assert "按表头识别为“行政处罚”" in page.locator("main").inner_text()
    assert page.locator("#kind").input_value() == "penalty"
    _no_violations(page)
    page.get_by_role("button", name="导入").click()
    assert re.search(r"/batches/penalty-[0-9a-f]{12}\?", page.url), page.url
    batch_id = page.url.split("/batches/")[1].split("?")[0]
    main = page.locator("main").inner_text()
    assert f"已导入为批次 {batch_id}" in main
    assert "批次概况" in main and "拒绝的行" in main and "网站显示样例" in main  # the review
    assert "数据校验值（BLAKE3）" in main  # what the approval signs
    _no_violations(page)

    # 审核通过 with the editor's own key
    page.select_option("#editor", DEMO_EDITOR)
    page.get_by_role("button", name="审核通过并签名").click()
    assert f"批次 {batch_id} 已审核通过" in page.locator("[role=status]").inner_text()

    # 撤下: find the record by its document number in another bracket style, stage, approve
    page.get_by_role("link", name="撤下").click()
    page.fill("input[name=q]", DOCNO.replace("〔", "[").replace("〕", "]"))
    page.get_by_role("button", name="查找").click()
    found = page.locator("main section")
    assert found.count() == 1 and DOCNO in found.inner_text()
    _no_violations(page)
    found.locator("select[name=reason]").select_option("信用修复")
    found.get_by_role("button", name="建立撤下申请").click()
    assert "/batches/withdrawal-" in page.url
    assert "撤下申请已建立" in page.locator("[role=status]").inner_text()
    page.get_by_role("button", name="审核通过并签名").click()
    assert "已审核通过" in page.locator("[role=status]").inner_text()

    # 预览: build with one click, wait for it, open the preview; the withdrawn record is gone
    page.get_by_role("link", name="预览与发布").click()
    page.get_by_role("button", name="构建预览").click()
    page.wait_for_selector("text=预览已构建", timeout=180_000)
    _no_violations(page)
    page.get_by_role("link", name="查看构建报告").click()
    assert "撤下" in page.locator("body").inner_text()
    page.go_back()
    out = desk["root"] / "output"
    records = "\n".join(
        p.read_text(encoding="utf-8") for p in out.glob("records/penalty/**/*.html")
    )
    assert "东市监罚〔2026〕102号" in records  # the rest of the batch is published
    assert DOCNO not in records  # the withdrawn one is not
    preview = page.get_by_role("link", name="打开预览网站").get_attribute("href")
    assert preview and not preview.startswith(desk["base"])  # another origin (another port)
    with page.expect_navigation():
        page.get_by_role("link", name="打开预览网站").click()
    assert "信用盐城" in page.title()
    listing = page.request.get(preview.replace("index.html", "kinds/penalty/index.html")).text()
    assert DOCNO not in listing

    # Back on the desk, the batches list shows both batches
    page.goto(desk["base"] + "/")
    table = page.locator("table").inner_text()
    assert batch_id in table and "withdrawal-" in table


def test_a_file_that_is_not_an_export_is_refused_with_one_line(editor_page, tmp_path):
    page = editor_page
    page.get_by_role("link", name="导入").click()
    bad = tmp_path / "说明.txt"
    bad.write_text("不是表格", encoding="utf-8")
    page.set_input_files("#file", str(bad))
    page.get_by_role("button", name="上传并识别类别").click()
    assert "只能导入 CSV、XLSX 或 XLS 文件" in page.locator("[role=alert]").inner_text()
    # A CSV whose header is no kind's: the kind is asked for, and ingest's own reason is shown
    odd = tmp_path / "杂表.csv"
    odd.write_text("甲,乙\n1,2\n", encoding="utf-8")
    page.set_input_files("#file", str(odd))
    page.get_by_role("button", name="上传并识别类别").click()
    assert "无法从表头确定类别" in page.locator("main").inner_text()
    page.select_option("#kind", "penalty")
    page.get_by_role("button", name="导入").click()
    alert = page.locator("[role=alert]").inner_text()
    assert "杂表.csv" in alert and "\n" not in alert.strip()


def test_an_untrusted_key_is_refused_and_nothing_is_signed(editor_page, desk):
    page = editor_page
    batches = desk["root"] / "content" / "batches"
    log = (batches / "publication-log.jsonl").read_bytes()
    staged = next(
        p.name
        for p in sorted(batches.iterdir())
        if p.name.startswith("penalty-") and "待审核" in _state(page, desk, p.name)
    )
    page.goto(f"{desk['base']}/batches/{staged}")
    # The form offers only trusted editors with a key here; a forged one names the stranger
    assert page.locator("#editor option").all_inner_texts() == [DEMO_EDITOR]
    page.eval_on_selector(
        "#editor", "s => { s.add(new Option('陌生人', '陌生人')); s.value = '陌生人'; }"
    )
    page.get_by_role("button", name="审核通过并签名").click()
    assert "不在本站受信任的编辑名单中" in page.locator("[role=alert]").inner_text()
    assert (batches / "publication-log.jsonl").read_bytes() == log


def _state(page, desk, batch_id: str) -> str:
    return page.request.get(f"{desk['base']}/batches/{batch_id}").text()


def test_the_desk_refuses_a_browser_without_the_token(browser, desk):
    context = browser.new_context()
    page = context.new_page()
    response = page.goto(desk["base"] + "/")
    assert response is not None and response.status == 403
    assert "缺少访问令牌" in page.locator("body").inner_text()
    response = page.goto(desk["base"] + "/?token=guessed")
    assert response is not None and response.status == 403
    context.close()


def test_a_cross_site_post_is_refused(browser, desk, editor_page, tmp_path):
    """Another web page, open in the editor's browser, submits a form to the desk: refused (the
    session cookie is SameSite=Strict and the Origin is not the desk's), and nothing is signed."""
    batches = desk["root"] / "content" / "batches"
    log = (batches / "publication-log.jsonl").read_bytes()
    target = next(p.name for p in sorted(batches.iterdir()) if p.name.startswith("penalty-"))
    (tmp_path / "index.html").write_text(
        f'<form method="post" action="{desk["base"]}/batches/{target}/approve">'
        f'<input name="editor" value="{DEMO_EDITOR}"><button id="go">go</button></form>',
        encoding="utf-8",
    )
    server, base = serve_directory(tmp_path)
    try:
        page = editor_page.context.new_page()
        page.goto(f"{base}/index.html")
        with page.expect_navigation():
            page.click("#go")
        assert "已拒绝" in page.locator("h1").inner_text()
        # The same POST with the desk's cookie but a foreign Origin
        response = editor_page.request.post(
            f"{desk['base']}/batches/{target}/approve",
            form={"editor": DEMO_EDITOR, "csrf": "x"},
            headers={"Origin": "http://evil.example"},
        )
        assert response.status == 403 and "跨站提交已拒绝" in response.text()
    finally:
        server.shutdown()
    assert (batches / "publication-log.jsonl").read_bytes() == log


def preview_base(page, desk) -> str:
    """The preview's origin, as the 预览与发布 page links to it (after a preview build)."""
    (desk["root"] / "output").mkdir(exist_ok=True)
    (desk["root"] / "output" / "index.html").touch()
    page.goto(desk["base"] + "/preview")
    href = page.get_by_role("link", name="打开预览网站").get_attribute("href")
    return href.removesuffix("/index.html")


def test_the_preview_serves_no_file_outside_it(editor_page, desk):
    base = preview_base(editor_page, desk)
    for path in (
        "/../pelicanconf.py",
        "/%2e%2e/pelicanconf.py",
        "/.cache/x",
        "/%00",
        "/a%5c..%5cx",
    ):
        response = editor_page.request.get(base + path)
        assert response.status in (403, 404), path
        assert "PELICAN" not in response.text().upper(), path
    # The desk's own pages are not on the preview's origin, nor the preview on the desk's
    assert editor_page.request.get(base + "/batches").status == 404
    assert editor_page.request.get(desk["base"] + "/site/index.html").status == 404


def test_a_script_in_the_preview_cannot_drive_the_desk(editor_page, desk):
    """The preview runs the site's scripts (and whatever a theme file or a page holds): from its
    origin it can neither read a desk page nor post an approval."""
    batches = desk["root"] / "content" / "batches"
    log = (batches / "publication-log.jsonl").read_bytes()
    base = preview_base(editor_page, desk)
    editor_page.goto(base + "/index.html")
    outcome = editor_page.evaluate(
        """async ([desk, batch]) => {
            let read = 'refused';
            try {
                const r = await fetch(desk + '/batches/' + batch, {credentials: 'include'});
                read = (await r.text()).slice(0, 30);
            }
            catch (e) { read = 'refused'; }
            let posted = 0;
            try {
                const r = await fetch(desk + '/batches/' + batch + '/approve', {method: 'POST',
                    credentials: 'include', mode: 'no-cors',
                    body: new URLSearchParams({editor: '示例编辑甲', csrf: 'x'})});
                posted = r.status;
            } catch (e) { posted = -1; }
            return [read, posted];
        }""",
        [desk["base"], next(p.name for p in sorted(batches.iterdir()) if p.is_dir())],
    )
    assert outcome[0] == "refused", outcome
    assert (batches / "publication-log.jsonl").read_bytes() == log


def test_a_damaged_or_tampered_batch_is_shown_not_a_failure(editor_page, desk):
    """A batch whose records were edited after staging is 被改动 on the list and its page says why;
    nothing on the desk fails with a 500."""
    batches = desk["root"] / "content" / "batches"
    staged = next(
        p
        for p in sorted(batches.iterdir())
        if p.name.startswith("penalty-")
        and (p / "records.jsonl").exists()
        and "待审核" in editor_page.request.get(f"{desk['base']}/batches/{p.name}").text()
    )
    records = staged / "records.jsonl"
    kept = records.read_bytes()
    try:
        records.write_bytes(kept.replace(b"{", b"[", 1))
        editor_page.goto(desk["base"] + "/")
        row = editor_page.locator("tr", has_text=staged.name)
        assert "被改动" in row.inner_text()
        response = editor_page.goto(f"{desk['base']}/batches/{staged.name}")
        assert response is not None and response.status == 200
        assert "被改动过" in editor_page.locator("[role=alert]").inner_text()
        assert editor_page.locator("#editor").count() == 0
    finally:
        records.write_bytes(kept)


def test_the_token_redirect_stays_on_the_desk(editor_page, desk):
    token = desk["url"].split("token=")[1]
    for path in ("//evil.example/", "/\\evil.example/"):
        response = editor_page.request.get(f"{desk['base']}{path}?token={token}", max_redirects=0)
        assert response.status == 303
        location = response.headers["location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location


def test_a_long_chinese_file_name_is_taken(editor_page):
    page = editor_page
    page.get_by_role("link", name="导入").click()
    # 304 bytes in UTF-8: longer than a file system takes, as a browser on Windows may send it
    name = "行政处罚" * 25 + ".csv"
    data = (FIXTURES / "department-penalty-gb18030.csv").read_bytes()
    page.set_input_files("#file", {"name": name, "mimeType": "text/csv", "buffer": data})
    page.get_by_role("button", name="上传并识别类别").click()
    assert "按表头识别为“行政处罚”" in page.locator("main").inner_text()


def test_every_screen_fits_a_tablet_and_passes_axe(editor_page, desk):
    page = editor_page
    page.set_viewport_size({"width": 768, "height": 1024})
    for path in ("/", "/import", "/withdraw?q=盐城", "/preview", "/publish"):
        page.goto(desk["base"] + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 768, (path, width)
        _no_violations(page)
        # Every control is reachable from the keyboard: the first Tab lands on the skip link
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "跳到主要内容"
