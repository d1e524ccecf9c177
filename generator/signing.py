"""Editors' keys and signatures: Ed25519 keys in OpenSSH format, signatures in OpenSSH's SSHSIG format.

Every signature this module makes can be checked with ``ssh-keygen -Y verify`` (see docs/cli.md,
"Checking a signature with OpenSSH"). The primitives are the ``cryptography`` package's; the SSHSIG
envelope and its verification are the ``sshsig`` package's. Nothing here is hand-written
cryptography: this module only chooses, stores and wires.

A signer is anything with the :class:`Signer` interface; a verifier is registered per public-key
algorithm in :data:`VERIFIERS`. An office whose rules require SM2/SM3 (国密) adds a signer class and
a verifier for its key type (e.g. ``sm2``) without touching the publication log.

Private keys live outside the site, in the key folder: ``$DISCLOSE_KEY_DIR``, else
``$XDG_CONFIG_HOME/disclose/keys`` (``~/.config/disclose/keys``). A key of editor NAME is the file
``NAME`` (mode 0600) with its public half in ``NAME.pub``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import sshsig
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sshsig.binary_io import SshWriter
from sshsig.sshsig import SshsigWrapper, ssh_enarmor_sshsig

from . import pii
from .errors import UserError

# Ssh-keygen -Y sign/verify -n …: a signature for this log only
NAMESPACE = "xinyong-yancheng-publication"
HASH = "sha512"
# Keys whose private half is public (tests/demo-keys/): `disclose verify` refuses a site that trusts one.
DEMO_FINGERPRINTS = frozenset({"SHA256:8BrztzPFk2hrQMUMl6Ao8diJ7//w7AzPEYL91zRO8So"})
# Editor names become file names and log fields: letters (any script), digits, ·, -, _; 1–32 of them.
NAME_PATTERN = re.compile(r"[\w·\-]{1,32}")  # whole names only: fullmatch


class Signer(Protocol):
    """What the publication log needs of a key: who, its public half, and a signature."""

    name: str

    def public_key(self) -> str:
        """The public key as one OpenSSH line without a comment (``ssh-ed25519 AAAA…``)."""
        ...

    def sign(self, message: bytes) -> str:
        """An armored signature of ``message`` in :data:`NAMESPACE`."""
        ...


def check_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.fullmatch(name) or re.search(r"\d{6}", name) or pii.find(name):
        # A name is signed into the log and names a key: it cannot be masked, so one with a number is refused.
        raise UserError(
            f"编辑名“{pii.mask(name)}”无效：应为 1–32 个汉字、字母、数字、“·”“-”或“_”，"
            "且不含 6 位以上连续数字或手机号码等个人信息"
        )
    return name


def key_dir() -> Path:
    """The folder of the editors' private keys on this computer (never inside a site)."""
    if os.environ.get("DISCLOSE_KEY_DIR"):
        return Path(os.environ["DISCLOSE_KEY_DIR"])
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "disclose" / "keys"


@dataclass
class Ed25519Signer:
    """An editor's Ed25519 key, signing in OpenSSH's SSHSIG format."""

    name: str
    key: Ed25519PrivateKey

    def public_key(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
            .decode()
        )

    def sign(self, message: bytes) -> str:
        to_sign = SshsigWrapper(
            namespace=NAMESPACE.encode(),
            hash_algo=HASH.encode(),
            hash=hashlib.new(HASH, message).digest(),
        ).to_bytes()
        blob = SshWriter(io.BytesIO())
        blob.write_string(b"ssh-ed25519")
        blob.write_string(self.key.sign(to_sign))
        public = self.key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        envelope = SshWriter(io.BytesIO())
        envelope.write(b"SSHSIG")
        envelope.write_uint32(1)
        envelope.write_string(base64.b64decode(public.split()[1]))
        envelope.write_string(NAMESPACE.encode())
        envelope.write_string(b"")
        envelope.write_string(HASH.encode())
        envelope.write_string(blob.output_fh.getvalue())
        return ssh_enarmor_sshsig(envelope.output_fh.getvalue())


def _verify_sshsig(public_key: str, message: bytes, signature: str) -> bool:
    try:
        expected = sshsig.PublicKey.from_openssh_str(public_key)
        sshsig.verify(message, signature, [expected], namespace=NAMESPACE)
    except (sshsig.InvalidSignature, ValueError, NotImplementedError, TypeError, IndexError):
        return False
    except Exception:  # noqa: BLE001 - a malformed signature from a hostile file is only invalid
        return False
    return True


# Public-key algorithm (the first word of the OpenSSH line) → verifier(public key, message, signature).
VERIFIERS: dict[str, Callable[[str, bytes, str], bool]] = {"ssh-ed25519": _verify_sshsig}


def verify(public_key: str, message: bytes, signature: str) -> bool:
    """True when ``signature`` is a signature of ``message`` by ``public_key`` in :data:`NAMESPACE`."""
    verifier = VERIFIERS.get(public_key.split(" ", 1)[0])
    return (
        verifier is not None
        and isinstance(signature, str)
        and verifier(public_key, message, signature)
    )


def parse_public_key(text: str) -> str:
    """An OpenSSH public-key line (a comment is dropped) or the contents of a ``.pub`` file, checked."""
    parts = text.strip().split()
    if len(parts) < 2 or parts[0] not in VERIFIERS:
        raise UserError(
            f"公钥格式不对：应为一行 “ssh-ed25519 AAAA… 名字”，或 .pub 文件的路径（收到：{text.strip()[:40]}）"
        )
    line = f"{parts[0]} {parts[1]}"
    try:
        sshsig.PublicKey.from_openssh_str(line)
    except (ValueError, NotImplementedError, TypeError, IndexError):
        raise UserError(f"公钥无法读取（内容不完整或已损坏）：{parts[1][:24]}…") from None
    return line


def fingerprint(public_key: str) -> str:
    """The key's fingerprint as ``ssh-keygen -l`` prints it (``SHA256:…``)."""
    return sshsig.PublicKey.from_openssh_str(public_key).sha256_str()


def create_key(name: str, folder: Path | None = None) -> Ed25519Signer:
    """A new key pair for ``name`` in the key folder; refuses to overwrite an existing key."""
    name = check_name(name)
    folder = folder or key_dir()
    path = folder / name
    if path.exists() or path.with_suffix(path.suffix + ".pub").exists():
        raise UserError(
            f"{path} 已存在：编辑 {name} 已有密钥，不会覆盖（丢失或泄露请见编辑指南“密钥丢失”一节）"
        )
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    signer = Ed25519Signer(name, Ed25519PrivateKey.generate())
    pem = signer.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    (folder / f"{name}.pub").write_text(f"{signer.public_key()} {name}\n", encoding="utf-8")
    return signer


def load_signer(name: str, key_file: Path | None = None) -> Ed25519Signer:
    """Editor ``name``'s key from ``key_file`` or the key folder; a one-line error when missing or unreadable."""
    name = check_name(name)
    path = key_file or key_dir() / name
    try:
        data = path.read_bytes()
    except OSError:
        raise UserError(
            f"找不到编辑 {name} 的私钥 {path}（先运行 disclose editor init {name}，或用 --key 指定密钥文件）"
        ) from None
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise UserError(
            f"{path} 不是可用的 OpenSSH Ed25519 私钥（或设有口令；请用 ssh-keygen -p 去掉口令后保存在密钥目录）"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise UserError(
            f"{path} 不是 Ed25519 私钥：请用 disclose editor init 或 ssh-keygen -t ed25519 生成"
        )
    return Ed25519Signer(name, key)
