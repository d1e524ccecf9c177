"""Take the screenshots in docs/ from the demo content, in headless Chromium (Debian ``chromium``).

    python docs/screenshots.py

Chinese text needs a CJK font where Chromium runs (Debian: fonts-noto-cjk), or the shots show boxes.

Copies the demo site (content/, theme/, pelicanconf.py) to a temporary folder, writes the review
report of the pending batch, builds for the demo day, serves the output locally and saves PNGs to
docs/images/; then starts ``disclose desk`` on another copy and walks an editor's day through it
(:func:`desk_shots`). Re-run it after changing the theme, the report or the desk's templates.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from generator.build import build  # noqa: E402
from generator.demo import DEMO_DAY  # noqa: E402
from generator.review import write_review  # noqa: E402
from generator.schema import KINDS  # noqa: E402
from generator.settings import load_config  # noqa: E402

IMAGES = REPO / "docs" / "images"
# (file name, path in the site or "review", viewport width, full page?, media). A path with "*" is
# a glob: its first match, or with "|needle" the first match whose text holds the needle.
SITE_PAGES = {
    "home": "index.html",
    "search": "search/index.html?q=康润",
    **{f"record-{kind}": f"records/{kind}/*/*.html" for kind in KINDS},
    "archive": "entities/*/*.html|阜宁县康润示例化工有限公司",
    "archive-government": "entities/*/*.html|政务诚信评价（",
}
SHOTS = [
    ("editors-review-report.png", "review", 1280, False, "screen"),
    ("editors-site-home.png", "index.html", 1280, False, "screen"),
    # The first screen a phone (320 px) and a desktop show (docs/theme.md)
    *[
        (f"site-{name}-{width}.png", path, width, False, "screen")
        for name, path in SITE_PAGES.items()
        for width in (320, 1280)
    ],
    # An archive printed as its 信用报告: A4's width at 96 dpi, print styles
    ("site-report-print.png", SITE_PAGES["archive"], 794, True, "print"),
    *[
        (f"stats-{slug}-{width}.png", f"stats/{slug}.html", width, True, "screen")
        for slug in ("index", "timeliness", "government")
        for width in (320, 1280)
    ],
]


# The editors' desk (disclose desk) at a desktop's and a tablet's width, along an editor's day
DESK_WIDTHS = (1280, 768)
DESK_EXPORT = REPO / "tests" / "fixtures" / "department-penalty-gb18030.csv"


def desk_shots(browser, tmp: Path) -> None:
    """Start ``disclose desk`` on a copy of the demo content with the demo key, walk an editor's
    day in the browser and save ``desk-<screen>-<width>.png`` for each screen."""
    import os
    import subprocess

    root = tmp / "desk"
    root.mkdir()
    for name in ("content", "theme"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "pelicanconf.py", root / "pelicanconf.py")
    env = dict(os.environ, DISCLOSE_KEY_DIR=str(REPO / "tests" / "demo-keys"))
    desk = subprocess.Popen(
        [sys.executable, "-m", "generator.cli", "desk", "--no-browser", "--today", str(DEMO_DAY)],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert desk.stdout is not None
        url = desk.stdout.readline().strip()
        base = url.split("/?")[0]
        upload = tmp / "东台市场监管局-行政处罚.csv"
        shutil.copy(DESK_EXPORT, upload)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page = context.new_page()
        page.goto(url)

        def shot(name: str) -> None:
            for width in DESK_WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.screenshot(path=str(IMAGES / f"desk-{name}-{width}.png"))
                print(f"docs/images/desk-{name}-{width}.png")
            page.set_viewport_size({"width": 1280, "height": 900})

        shot("batches")
        page.goto(f"{base}/import")
        page.set_input_files("#file", str(upload))
        page.fill("#source", "东台市市场监督管理局")
        shot("import")
        page.get_by_role("button", name="上传并识别类别").click()
        shot("confirm")
        page.get_by_role("button", name="导入").click()
        shot("batch")
        page.locator("#approve-title").scroll_into_view_if_needed()
        page.get_by_role("button", name="审核通过并签名").click()
        shot("approved")
        page.goto(f"{base}/withdraw?q=东市监罚[2026]101号")
        shot("withdraw")
        page.get_by_role("button", name="建立撤下申请").click()
        page.get_by_role("button", name="审核通过并签名").click()
        page.goto(f"{base}/preview")
        page.get_by_role("button", name="构建预览").click()
        page.wait_for_selector("text=预览已构建", timeout=300_000)
        shot("preview")
        context.close()
    finally:
        desk.terminate()
        desk.wait()


def find_page(output: Path, pattern: str) -> str:
    """The first page matching a glob (with ``|needle``: whose text holds the needle)."""
    glob, _, needle = pattern.partition("|")
    for path in sorted(output.glob(glob)):
        if needle in path.read_text(encoding="utf-8"):
            return path.relative_to(output).as_posix()
    raise SystemExit(f"no page matches {pattern}")


def main() -> None:
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        root.mkdir()
        for name in ("content", "theme"):
            shutil.copytree(REPO / name, root / name)
        shutil.copy(REPO / "pelicanconf.py", root / "pelicanconf.py")
        cfg = load_config(root)
        pending = next(
            p.name
            for p in sorted((root / "content" / "batches").iterdir())
            if p.is_dir() and "待审核" in p.joinpath("manifest.json").read_text(encoding="utf-8")
        )
        review = write_review(root, cfg, pending, DEMO_DAY)
        build(root, cfg, DEMO_DAY, root / "output")
        handler = functools.partial(
            http.server.SimpleHTTPRequestHandler, directory=str(root / "output")
        )
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--no-sandbox"]
                )
                for name, path, width, full, media in SHOTS:
                    page = browser.new_page(
                        viewport={"width": width, "height": 900 if width > 600 else 740},
                        device_scale_factor=1,
                        locale="zh-CN",
                    )
                    page.emulate_media(media=media)
                    if path != "review" and "*" in path:
                        path = find_page(root / "output", path)
                    page.goto(review.as_uri() if path == "review" else f"{base}/{path}")
                    page.wait_for_load_state("networkidle")
                    if "?q=" in path:
                        page.wait_for_selector("body[data-search-done]")
                    page.screenshot(path=str(IMAGES / name), full_page=full)
                    page.close()
                    print(f"docs/images/{name}")
                desk_shots(browser, Path(tmp))
                browser.close()
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
