"""A private certificate authority for the local development/test servers.

Generated with the ``openssl`` CLI (the ``cryptography`` package is not a
dependency).  EC P-256 keys keep generation fast (a few tens of ms).

The CA and the server certificate carry the extensions strict verifiers
expect (basicConstraints, keyUsage, subject/authority key identifiers,
subjectAltName for ``127.0.0.1`` and ``localhost``), so
``ssl.create_default_context(cafile=ca.ca_file)`` verifies them, including
under Python's ``VERIFY_X509_STRICT``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TlsCa", "ServerCert", "create_ca", "issue_server_cert", "ensure_ca"]

_DEFAULT_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ServerCert:
    cert_file: Path      # leaf certificate (PEM)
    key_file: Path       # unencrypted private key (PEM)
    chain_file: Path     # leaf followed by the CA certificate (PEM)


@dataclass(frozen=True)
class TlsCa:
    directory: Path
    ca_file: Path        # CA certificate: pass as ``cafile=`` to clients
    ca_key: Path

    def issue(self, name: str = "server",
              names: tuple[str, ...] = _DEFAULT_NAMES,
              directory: Path | None = None) -> ServerCert:
        return issue_server_cert(self, name=name, names=names,
                                 directory=directory)


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise RuntimeError("openssl CLI not found on PATH")
    proc = subprocess.run([exe, *args], cwd=cwd, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"openssl {' '.join(args[:2])} failed ({proc.returncode}): "
            f"{proc.stderr.strip()}")


def _genkey(path: Path, cwd: Path) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-out", str(path), cwd=cwd)
    os.chmod(path, 0o600)


def create_ca(directory: Path | str,
              common_name: str = "intake private test CA") -> TlsCa:
    """Create a new CA (key + self-signed certificate) in ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    key = d / "ca.key"
    crt = d / "ca.crt"
    ext = d / "ca.ext"
    ext.write_text(
        "[req]\ndistinguished_name = dn\nprompt = no\n"
        f"[dn]\nCN = {common_name}\nO = intake tests\n"
        "[v3_ca]\n"
        "basicConstraints = critical, CA:TRUE, pathlen:0\n"
        "keyUsage = critical, keyCertSign, cRLSign\n"
        "subjectKeyIdentifier = hash\n")
    _genkey(key, d)
    _openssl("req", "-new", "-x509", "-key", str(key), "-out", str(crt),
             "-days", "3650", "-sha256", "-config", str(ext),
             "-extensions", "v3_ca", cwd=d)
    return TlsCa(directory=d, ca_file=crt, ca_key=key)


def issue_server_cert(ca: TlsCa, name: str = "server",
                      names: tuple[str, ...] = _DEFAULT_NAMES,
                      directory: Path | None = None) -> ServerCert:
    """Issue a server certificate for ``names`` (IPs and DNS names)."""
    d = Path(directory) if directory is not None else ca.directory
    d.mkdir(parents=True, exist_ok=True)
    key = d / f"{name}.key"
    csr = d / f"{name}.csr"
    crt = d / f"{name}.crt"
    chain = d / f"{name}-chain.crt"
    ext = d / f"{name}.ext"
    sans = []
    for n in names:
        kind = "IP" if (n.replace(".", "").isdigit() or ":" in n) else "DNS"
        sans.append(f"{kind}:{n}")
    ext.write_text(
        "[req]\ndistinguished_name = dn\nprompt = no\n"
        f"[dn]\nCN = {names[0]}\n"
        "[v3_srv]\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid:always\n"
        f"subjectAltName = {', '.join(sans)}\n")
    _genkey(key, d)
    _openssl("req", "-new", "-key", str(key), "-out", str(csr),
             "-config", str(ext), cwd=d)
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca.ca_file),
             "-CAkey", str(ca.ca_key), "-CAcreateserial", "-out", str(crt),
             "-days", "825", "-sha256", "-extfile", str(ext),
             "-extensions", "v3_srv", cwd=d)
    chain.write_bytes(crt.read_bytes() + ca.ca_file.read_bytes())
    return ServerCert(cert_file=crt, key_file=key, chain_file=chain)


def ensure_ca(directory: Path | str) -> TlsCa:
    """Reuse the CA in ``directory`` if present, else create one."""
    d = Path(directory)
    crt, key = d / "ca.crt", d / "ca.key"
    if crt.exists() and key.exists():
        return TlsCa(directory=d, ca_file=crt, ca_key=key)
    return create_ca(d)
