"""Every record page explains its kind (issue 29): what such a record is, the law that has it
published, how long it stays public, and the action that fits it: 异议 always, 信用修复 only where
it ends publication (penalties, dishonesty records). The wording lives in each Kind's Notice."""

from __future__ import annotations

import html
import re

import pytest

from generator.schema import KINDS
from generator.settings import Config

REPAIR_KINDS = {"penalty", "dishonesty"}


def one_page_per_kind(out) -> dict[str, str]:
    pages = {}
    for kind in KINDS:
        page = min((out / "records" / kind).rglob("*.html"))
        pages[kind] = html.unescape(page.read_text(encoding="utf-8"))
    return pages


def notice_of(text: str) -> str:
    found = re.search(r'<aside class="kind-notice".*?</aside>', text, re.S)
    assert found, "no 说明 box"
    return found.group(0)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_record_page_explains_its_kind_and_offers_the_action_that_applies(built, kind):
    notice = KINDS[kind].notice
    assert notice is not None
    box = notice_of(one_page_per_kind(built["out"])[kind])
    assert f"关于{KINDS[kind].label}信息" in box
    for text in (notice.meaning, notice.law, notice.period, Config().OBJECTION_CONTACT):
        assert text in box
    assert "pages/objection.html" in box
    assert ("申请信用修复" in box) is (kind in REPAIR_KINDS)
    assert ("pages/repair.html" in box) is (kind in REPAIR_KINDS)
    assert (Config().REPAIR_CONTACT in box) is (kind in REPAIR_KINDS)


@pytest.mark.parametrize("kind", ["license", "commendation", "pledge", "judgment", "evaluation"])
def test_a_record_the_credit_repair_rules_do_not_govern_does_not_cite_them(built, kind):
    text = one_page_per_kind(built["out"])[kind]
    assert "信用修复管理办法" not in text
    assert f"依据：{KINDS[kind].notice.basis}" in text
