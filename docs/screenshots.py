"""Take the screenshots in docs/ from the demo content, in headless Chromium (Debian ``chromium``).

    python docs/screenshots.py

Chinese text needs a CJK font where Chromium runs (Debian: fonts-noto-cjk), or the shots show boxes.

Copies the demo site (content/, theme/, pelicanconf.py) to a temporary folder, writes the review
report of the pending batch, builds for the demo day, serves the output locally and saves PNGs to
docs/images/. Re-run it after changing the theme or the report templates.
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
                browser.close()
        finally:
            server.shutdown()


if __name__ == "__main__":
    main()
