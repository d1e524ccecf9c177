"""``disclose editor init|trust|revoke|list``: editors' keys and the site's trusted editors."""

from __future__ import annotations

from pathlib import Path

import click

from ..clock import now_iso
from ..editors import Editors
from ..errors import UserError
from ..signing import create_key, key_dir, load_signer
from .common import Site, cli, handle_errors, key_option, pass_site


@cli.group()
def editor() -> None:
    """Editors' signing keys and the site's list of trusted editors."""


@editor.command("init")
@click.argument("name")
@handle_errors
def init(name: str) -> None:
    """Create NAME's Ed25519 key pair in the key folder ($DISCLOSE_KEY_DIR, default ~/.config/disclose/keys).

    The last line printed is the public key (ssh-ed25519 AAAA… NAME): give it to a trusted editor.
    The private key never leaves this computer and never goes into the site.
    """
    signer = create_key(name)
    folder = key_dir()
    click.echo(
        f"已为编辑 {signer.name} 生成密钥：私钥 {folder / signer.name}（仅本机保存，"
        f"切勿提交或发送），公钥 {folder / signer.name}.pub"
    )
    click.echo(f"{signer.public_key()} {signer.name}")


@editor.command("trust")
@click.argument("name")
@click.argument("pubkey")
@click.option(
    "--by",
    "by_name",
    default=None,
    help="The trusted editor who signs this change (not needed for the first editor).",
)
@key_option
@pass_site
@handle_errors
def trust(site: Site, name: str, pubkey: str, by_name: str | None, key_file: Path | None) -> None:
    """Add NAME to the trusted editors with PUBKEY (a public-key line or a .pub file).

    On a site with no trusted editor the first one is trusted on first use and signs with its own
    key; every later change is signed by an already trusted editor (--by). Trusting a name again
    with another key replaces its key (a lost key).
    """
    path = Path(pubkey)
    if not pubkey.startswith("ssh-") and path.is_file():
        try:
            pubkey = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise UserError(f"无法读取公钥文件 {path}") from None
    editors = Editors(site.root, site.cfg)
    first = not editors.list()[0] and not editors.paths.log.exists()
    signer = load_signer(by_name or name, key_file) if (by_name or first) else None
    entry, tofu = editors.trust(name, pubkey, signer, now_iso(site.cfg))
    if tofu:
        click.echo(
            f"首次信任（trust on first use）：本站此前没有受信任的编辑，{name} 成为第一位，由其本人密钥签名。"
            "请把 content/editors 与 content/batches/publication-log.jsonl 提交到仓库"
        )
    click.echo(
        f"已信任编辑 {name}（{entry['key']}），发布日志第 {entry['n'] + 1} 条，签名人 {entry['by']}"
    )


@editor.command("revoke")
@click.argument("name")
@click.option("--by", "by_name", required=True, help="The trusted editor who signs the revocation.")
@key_option
@pass_site
@handle_errors
def revoke(site: Site, name: str, by_name: str, key_file: Path | None) -> None:
    """Remove NAME from the trusted editors: nothing signed with its key from now on is accepted."""
    entry = Editors(site.root, site.cfg).revoke(
        name, load_signer(by_name, key_file), now_iso(site.cfg)
    )
    click.echo(f"已撤销编辑 {name} 的密钥，发布日志第 {entry['n'] + 1} 条，签名人 {entry['by']}")


@editor.command("list")
@pass_site
@handle_errors
def list_editors(site: Site) -> None:
    """Show the trusted editors: name, key fingerprint, since when and who trusted them."""
    editors, problems = Editors(site.root, site.cfg).list()
    if not editors:
        click.echo(
            "本站还没有受信任的编辑（第一位编辑：disclose editor init 名字，然后 disclose editor trust 名字 公钥）"
        )
    else:
        click.echo("编辑\t密钥指纹\t信任时间\t签名人")
    for e in editors:
        click.echo(f"{e.name}\t{e.fingerprint}\t{e.since['at'][:16]}\t{e.since['by']}")
    for problem in problems:
        click.echo(f"问题：{problem}", err=True)
    if problems:
        raise SystemExit(1)
