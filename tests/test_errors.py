"""Every error is a sentence (issue 26, item 5): a malformed --today, a damaged manifest or approval
file and a bad request or a busy port of `disclose serve` get one Chinese line, never 内部错误 or a
traceback; refusals exit 2 and write nothing."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import TODAY

DISCLOSE = Path(sys.executable).parent / "disclose"


def one_line_refusal(result, code: int = 2) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    assert "内部错误" not in result.stderr and "Traceback" not in result.stderr
    return lines[0]


# -- --today -------------------------------------------------------------------------------------

TODAY_COMMANDS = {
    "ingest": lambda csv: ["ingest", csv, "--kind", "penalty"],
    "review": lambda csv: ["review", "penalty-000000000000"],
    "withdraw": lambda csv: [
        "withdraw",
        "盐市监罚〔2026〕1号",
        "--kind",
        "penalty",
        "--reason",
        "信用修复",
        "--editor",
        "甲",
    ],
    "build": lambda csv: ["build"],
    "verify": lambda csv: ["verify"],
    "serve": lambda csv: ["serve", "--no-build", "--port", "1"],
}
MALFORMED = {
    "empty": "",
    "blank": " ",
    "no such month": "2026-13-01",
    "no such day": "2026-02-30",
    "no dashes": "20261128",
    "ISO week": "2026-W48-6",
    "one-digit month": "2026-1-05",
    "full-width digits": "２０２６-11-28",
    "with a time": "2026-11-28T08:00",
    "newline": "2026-11-28\n",
}


@pytest.mark.parametrize("value", list(MALFORMED))
@pytest.mark.parametrize("command", list(TODAY_COMMANDS))
def test_an_empty_or_malformed_today_is_refused_by_every_command_that_takes_it(
    site, department_csv, command, value
):
    """Before, `--today ""` built for the wall clock and `--today 20261128` or `2026-W48-6` were taken."""
    result = site.run(*TODAY_COMMANDS[command](department_csv), "--today", MALFORMED[value])
    line = one_line_refusal(result)
    assert "--today" in line
    assert (
        site.batch_dirs() == []
        and not (site.path / "output").exists()
        and not (site.path / "reports").exists()
    )


def test_a_well_formed_today_is_still_the_clock(site, department_csv):
    result = site.ingest(department_csv, "penalty", today="2026-11-28")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads(
        (site.batches / result.batch_id / "manifest.json").read_text(encoding="utf-8")
    )
    assert manifest["validated_on"] == "2026-11-28"


# -- damaged manifests and approval files ----------------------------------------------------------

DAMAGE = {
    "kind changed to an unknown one": (lambda m: {**m, "kind": "nonsense"}, "kind"),
    "kind removed": (lambda m: {k: v for k, v in m.items() if k != "kind"}, "kind"),
    "kind a number": (lambda m: {**m, "kind": 5}, "kind"),
    "counts removed": (lambda m: {k: v for k, v in m.items() if k != "counts"}, "counts"),
    "counts a string": (lambda m: {**m, "counts": "many"}, "counts"),
    "records_sha256 removed": (
        lambda m: {k: v for k, v in m.items() if k != "records_sha256"},
        "records_sha256",
    ),
    "not JSON": (None, "JSON"),
}


@pytest.fixture
def staged(site, department_csv):
    batch = site.ingest(department_csv, "penalty").batch_id
    path = site.batches / batch / "manifest.json"
    return batch, path, json.loads(path.read_text(encoding="utf-8"))


def _damage(path: Path, manifest: dict, case: str) -> None:
    edit, _ = DAMAGE[case]
    path.write_text(
        "{not json" if edit is None else json.dumps(edit(manifest), ensure_ascii=False),
        encoding="utf-8",
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_staged_manifest_is_named_with_its_field_by_every_command(site, staged, case):
    """Before: `内部错误：KeyError: 'nonsense'` (review), `KeyError: 'kind'` (status), a Jinja
    UndefinedError for a missing counts (review), and a missing counts was signed by approve."""
    batch, path, manifest = staged
    _damage(path, manifest, case)
    field = DAMAGE[case][1]
    for command in (["review", batch, "--today", TODAY], ["approve", batch, "--editor", "甲"]):
        line = one_line_refusal(site.run(*command))
        assert "manifest.json" in line and batch in line and field in line, line
    status = site.run("status")
    assert (
        status.exit_code == 0
        and "内部错误" not in status.stderr
        and "Traceback" not in status.stderr
    )
    assert any(
        batch in line and field in line
        for line in status.stderr.splitlines()
        if line.startswith("问题：")
    ), status.stderr
    build = site.run("build", "--today", TODAY)  # a staged batch is not read by the build
    assert build.exit_code == 0, build.stderr


def test_manifest_problem_names_the_field(staged):
    """The check behind the refusals above (and behind the build's, for an approved batch whose
    manifest an older version let an editor sign without counts)."""
    from generator.batches import manifest_problem

    _, _, manifest = staged
    assert (
        manifest_problem({k: v for k, v in manifest.items() if k != "counts"}) == "缺少字段“counts”"
    )
    assert manifest_problem(manifest) == ""


RECORD_DAMAGE = {
    "a line that is not JSON": lambda text: text + "garbage\n",
    "a line without fields": lambda text: text + '{"id": "x"}\n',
    "bytes that are not UTF-8": lambda text: text.encode() + b"\xff\n",
    "removed": None,
}


@pytest.mark.parametrize("case", list(RECORD_DAMAGE))
def test_damaged_staged_records_are_refused_by_review_and_approve(site, staged, case):
    """Before: `内部错误：JSONDecodeError` / `KeyError: 'fields'` / `UnicodeDecodeError` /
    `FileNotFoundError` from review. The records are checked against the digests of staging first."""
    batch, _, _ = staged
    records = site.batches / batch / "records.jsonl"
    edit = RECORD_DAMAGE[case]
    if edit is None:
        records.unlink()
    else:
        damaged = edit(records.read_text(encoding="utf-8"))
        records.write_bytes(damaged if isinstance(damaged, bytes) else damaged.encode())
    for command in (["review", batch, "--today", TODAY], ["approve", batch, "--editor", "甲"]):
        line = one_line_refusal(site.run(*command))
        assert batch in line and "暂存后被修改过" in line
    assert not (site.path / "reports").exists()


def test_a_damaged_rejection_report_is_shown_as_it_is(site, staged):
    """The reports are not pinned by a digest; review shows what it can read."""
    batch, _, _ = staged
    (site.batches / batch / "rejections.csv").write_bytes(b'\xff\xfe\x00garbage\n"unterminated')
    (site.batches / batch / "warnings.csv").unlink()
    result = site.run("review", batch, "--today", TODAY)
    assert result.exit_code == 0, result.stderr


def test_an_approval_json_that_is_not_json_is_named_not_an_internal_error(site, staged):
    batch, _, _ = staged
    (site.batches / batch / "approval.json").write_text("{not json", encoding="utf-8")
    line = one_line_refusal(site.run("migrate", "--editor", "甲"))
    assert "approval.json" in line and batch in line
    status = site.run("status")
    assert "内部错误" not in status.stderr and "Traceback" not in status.stderr


# -- disclose serve --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def served(site):
    """`disclose serve --no-build` on a small output folder, as an editor runs it; yields the base
    URL, and checks once it stopped that it printed no traceback."""
    out = site.path / "output"
    (out / "records" / "penalty").mkdir(parents=True)
    (out / "index.html").write_text("<!doctype html><title>首页</title>", encoding="utf-8")
    (out / "404.html").write_text("<!doctype html><title>页面不存在</title>", encoding="utf-8")
    (out / "records" / "penalty" / "a.html").write_text("<!doctype html>", encoding="utf-8")
    port = _free_port()
    process = subprocess.Popen(
        [str(DISCLOSE), "serve", "--no-build", "--port", str(port)],
        cwd=site.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield base
    process.terminate()
    stderr = process.communicate(timeout=10)[1]
    assert "Traceback" not in stderr and "Error" not in stderr, stderr  # bad requests print nothing


def test_serve_answers_a_nul_or_unencodable_path_with_400_and_no_traceback(served):
    """Before: `GET /index.html%00.txt` printed a traceback and got no response at all."""
    assert _get(served + "/index.html%00.txt") == 400
    assert _get(served + "/%ED%A0%80.html") == 400  # a lone surrogate once decoded
    assert _get(served + "/index.html") == 200  # still serving


def test_serve_lists_no_directory(served):
    """Before: /records/ showed a listing of the record folders."""
    assert _get(served + "/records/") == 404
    assert _get(served + "/records/penalty/") == 404
    assert _get(served + "/records/penalty/a.html") == 200


def test_serve_on_a_port_in_use_is_one_line_and_exit_2(site):
    """Before: `内部错误：OSError: [Errno 98] Address already in use`, after a full build."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = site.run("serve", "--port", str(port), "--today", TODAY)
    line = one_line_refusal(result)
    assert str(port) in line and "占用" in line
    assert not (site.path / "output").exists()  # refused before the build: nothing written


# -- messages that quote a file name or a cell ----------------------------------------------------


@pytest.mark.parametrize(
    "name", ["导出\n第二行.csv", "导出\r.csv", "导出\u2028.csv", "导出\x1b[31m.csv"]
)
def test_a_file_name_with_a_line_break_or_control_character_still_gives_one_line(
    site, tmp_path, name
):
    """The fuzz suite's file names: a refusal quoting the name printed it over two lines (or let
    it colour the terminal); it is shown escaped."""
    path = tmp_path / name
    path.write_bytes("序号,行政相对人名称\r\n".encode("gb18030"))
    line = one_line_refusal(site.ingest(path, "penalty"))
    assert "\x1b" not in line and "导出" in line


def test_an_error_that_quotes_a_personal_number_shows_it_masked(site, tmp_path):
    path = tmp_path / "证件号码320902198503057774.csv"
    path.write_bytes(b"")
    line = one_line_refusal(site.ingest(path, "penalty"))
    assert "320902198503057774" not in line and "3209**********7774" in line


def test_a_usage_error_quoting_a_bad_value_masks_it(site):
    """click's own message for a bad --kind quoted the value as typed, ID number included."""
    result = site.run("ingest", "x.csv", "--kind", "320902198503057774\nb")
    assert result.exit_code == 2
    assert (
        "320902198503057774" not in result.stdout + result.stderr
        and "3209**********7774" in result.stderr
    )
