"""TLS for the hub off this machine: a self-signed certificate made on first run in the data directory
(`DATA_DIR/tls/hub.crt`, its key `hub.key` 0600 in a 0700 folder), kept across restarts so a phone
that accepted it once keeps trusting it; its SHA-256 fingerprint is printed at start so the user
can compare it with what the phone's browser shows. The only module that imports `cryptography`.

`transport_for(host, ...)` is the rule: 127.0.0.1/localhost/::1 -> plain HTTP (nothing leaves the
machine); any other address -> HTTPS/WSS, or plain HTTP only with an explicit `--insecure`."""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from models.durable import atomic_write_bytes
from models.errors import TwinError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
VALID_DAYS = 3650  # a household hub's own certificate; the fingerprint, not the date, is the trust


class TlsError(TwinError):
    code = "hub_tls"
    exit_code = 5


class InsecureBindError(TlsError):
    code = "hub_insecure_bind"


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the DER certificate, AA:BB:... as browsers show it


def is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fingerprint(cert: x509.Certificate) -> str:
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def local_addresses() -> set[str]:
    """This machine's addresses now, every interface (loopback included)."""
    import psutil

    found = set()
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family in (socket.AF_INET, socket.AF_INET6):
                found.add(a.address.split("%")[0])
    return found


def addresses_for(host: str) -> list[str]:
    """Where a phone reaches a hub bound to `host`: the machine's IPv4 addresses for a wildcard
    bind (0.0.0.0 / ::), else `host` itself."""
    try:
        wildcard = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        wildcard = False
    if not wildcard:
        return [host]
    found = sorted(a for a in local_addresses() if ":" not in a and not is_loopback(a))
    return found or [host]


def _names_for(host: str) -> tuple[set[str], set[str]]:
    """(DNS names, IP addresses) the certificate must name to serve `host`: this machine's name,
    localhost and, for a wildcard bind, every address the machine has now."""
    dns = {"localhost", socket.gethostname()}
    ips = {"127.0.0.1", "::1"}
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        dns.add(host)
    else:
        if ip.is_unspecified:
            ips |= local_addresses()
        else:
            ips.add(str(ip))
    return {d for d in dns if d}, ips


def _covers(cert: x509.Certificate, dns: set[str], ips: set[str]) -> bool:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have_dns = set(san.get_values_for_type(x509.DNSName))
    have_ips = {str(i) for i in san.get_values_for_type(x509.IPAddress)}
    return dns <= have_dns and ips <= have_ips


def ensure_certificate(data_dir: Path, host: str) -> tuple[TlsFiles, bool]:
    """The hub's certificate and key, made when missing, expired, unreadable, or not naming `host`.
    Returns the files and whether they were made now."""
    folder = data_dir / "tls"
    cert_path, key_path = folder / "hub.crt", folder / "hub.key"
    dns, ips = _names_for(host)
    now = datetime.datetime.now(datetime.UTC)
    if cert_path.exists() and key_path.exists():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except (ValueError, OSError):
            cert = None
        if cert is not None and cert.not_valid_after_utc > now and _covers(cert, dns, ips):
            os.chmod(key_path, 0o600)
            return TlsFiles(cert_path, key_path, fingerprint(cert)), False
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Twin hub {socket.gethostname()}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(d) for d in sorted(dns)]
                    + [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(ips)]
                ),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256())
        )
        pem_key = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        atomic_write_bytes(key_path, pem_key, mode=0o600)
        atomic_write_bytes(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    except OSError as exc:
        raise TlsError(
            f"cannot write the hub's certificate in {folder} ({exc.strerror or exc})",
            "free disk space or fix the permissions of the data directory",
        ) from None
    return TlsFiles(cert_path, key_path, fingerprint(cert)), True


def transport_for(host: str, data_dir: Path, insecure: bool = False) -> TlsFiles | None:
    """None: plain HTTP (this machine only, or `--insecure`). Otherwise the certificate to serve."""
    if is_loopback(host) or insecure:
        return None
    files, _ = ensure_certificate(data_dir, host)
    return files


def check_plain(host: str, insecure: bool) -> None:
    """Plain HTTP off this machine only when asked for by name."""
    if not is_loopback(host) and not insecure:
        raise InsecureBindError(
            f"refusing to serve plain HTTP on {host}: devices on the network would send the "
            "microphone, tokens and memories unencrypted",
            "serve it over TLS (what `twin serve --host HOST` does by default), bind --host "
            "127.0.0.1, or add --insecure to serve plain HTTP anyway",
        )
