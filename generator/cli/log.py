"""``disclose log [--ssh-keygen]``: the publication log, entry by entry, optionally checked by OpenSSH itself."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import click

from .. import ledger as publog
from ..errors import UserError
from ..signing import NAMESPACE
from .common import Site, cli, handle_errors, pass_site

ACTION_LABELS = {"trust": "信任编辑", "revoke": "撤销编辑", "approve": "审核批次"}


@cli.command(name="log")
@click.option(
    "--ssh-keygen",
    "with_ssh_keygen",
    is_flag=True,
    help="Also check every signature with OpenSSH's `ssh-keygen -Y verify` (an implementation independent of ours).",
)
@pass_site
@handle_errors
def log(site: Site, with_ssh_keygen: bool) -> None:
    """List the publication log: position, time, action, signer, what it names; then its head.

    Exit 1 when the log has a problem (or, with --ssh-keygen, when OpenSSH rejects a signature).
    """
    paths = publog.LogPaths(site.root, site.cfg.BATCHES_DIR, site.cfg.EDITORS_DIR)
    ledger = publog.read(paths)
    failed = check_with_ssh_keygen(ledger) if with_ssh_keygen else []
    click.echo("序号\t时间\t动作\t签名人\t对象")
    for entry in ledger.entries:
        what = entry.get("batch") or entry.get("editor")
        click.echo(
            f"{entry['n'] + 1}\t{entry['at'][:16]}\t{ACTION_LABELS[entry['action']]}\t{entry['by']}\t{what}"
        )
    head = ledger.head
    click.echo(f"日志头：{head.entries} 条，{head.hash or '-'}")
    if with_ssh_keygen and not failed and ledger.entries:
        click.echo(f"ssh-keygen -Y verify：全部 {len(ledger.entries)} 条签名有效")
    for line in [*ledger.problems, *failed]:
        click.echo(f"问题：{line}", err=True)
    if ledger.problems or failed:
        raise SystemExit(1)


def check_with_ssh_keygen(ledger: publog.Ledger) -> list[str]:
    """Every entry's signature checked by ``ssh-keygen -Y verify`` against the key trusted at that point."""
    exe = shutil.which("ssh-keygen")
    if exe is None:
        raise UserError("找不到 ssh-keygen（Debian：apt-get install openssh-client）")
    failed = []
    keys: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for entry in ledger.entries:
            key = entry["public_key"] if entry["n"] == 0 else keys[entry["by"]]
            (folder / "allowed_signers").write_text(
                f'{entry["by"]} namespaces="{NAMESPACE}" {key}\n', encoding="utf-8"
            )
            (folder / "entry.sig").write_text(entry["sig"], encoding="utf-8")
            done = subprocess.run(
                [
                    exe,
                    "-Y",
                    "verify",
                    "-f",
                    str(folder / "allowed_signers"),
                    "-I",
                    entry["by"],
                    "-n",
                    NAMESPACE,
                    "-s",
                    str(folder / "entry.sig"),
                ],
                input=publog.signed_bytes(entry),
                capture_output=True,
            )
            if done.returncode != 0:
                failed.append(
                    f"第 {entry['n'] + 1} 条：ssh-keygen 判定签名无效"
                    f"（{done.stderr.decode(errors='replace').strip()[:80]}）"
                )
            if entry["action"] == "trust":
                keys[entry["editor"]] = entry["public_key"]
            elif entry["action"] == "revoke":
                keys.pop(entry["editor"], None)
    return failed
