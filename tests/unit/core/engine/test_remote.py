"""Remote servers: addresses, the privacy words, and TLS that is verified (a self-signed certificate is refused)."""

from __future__ import annotations

import datetime
import http.server
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hearth.core.engine.remote import RemoteServer, list_models, privacy_words, remote_of, remote_plan
from hearth.core.engine.remote_keys import KeyStore
from hearth.core.errors import RemoteEngineError


def test_addresses() -> None:
    assert RemoteServer.parse("192.168.1.20:8080").base_url == "http://192.168.1.20:8080/v1"
    assert RemoteServer.parse("https://box.lan/v1/").base_url == "https://box.lan/v1"
    assert RemoteServer.parse("http://localhost:1234/api").base_url == "http://localhost:1234/api/v1"
    for bad in ("", "ftp://x/v1", "http:///v1"):
        with pytest.raises(RemoteEngineError):
            RemoteServer.parse(bad)
    plan = remote_plan(RemoteServer.parse("http://10.0.0.2:8080"), "qwen")
    assert remote_of(plan) == ("http://10.0.0.2:8080/v1", "qwen") and "sk-" not in str(plan.to_dict())


def test_privacy_words() -> None:
    assert privacy_words(RemoteServer.parse("http://127.0.0.1:8080")) == ""
    assert privacy_words(RemoteServer.parse("https://box.lan")) == \
        "Runs on box.lan: your messages leave this computer."
    assert "not encrypted" in privacy_words(RemoteServer.parse("http://box.lan:8080"))


def test_keys_stay_in_a_file_only_the_user_can_read(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path, use_keyring=False)
    keys.set("http://box:8080/v1/", "sk-1")
    assert keys.get("http://box:8080/v1") == "sk-1" and (keys.path.stat().st_mode & 0o777) == 0o600
    keys.delete("http://box:8080/v1")
    assert keys.get("http://box:8080/v1") is None


@pytest.fixture()
def self_signed_server(tmp_path: Path) -> Iterator[int]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_a_certificate_that_is_not_trusted_is_refused(self_signed_server: int) -> None:
    with pytest.raises(RemoteEngineError, match="did not prove who it is"):
        list_models(RemoteServer.parse(f"https://127.0.0.1:{self_signed_server}/v1"))
