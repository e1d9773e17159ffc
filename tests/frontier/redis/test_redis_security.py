"""``--frontier`` with Redis ACL credentials (``redis://user:password@...``) and TLS
(``rediss://``): the crawl works, and the password appears nowhere: not on stderr (even at
DEBUG), not in ``--stats``, not in the items; a wrong password is a one-line usage error."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults import free_port, start_redis_server, stop_process
from test_redis_e2e import describe, one_line_error, read_urls, run
from w3lib.url import canonicalize_url

from acrawl.demo.site import LinkSite, run_in_thread

pytestmark = pytest.mark.redis

PASSWORD = "s3cr3t-pw-8f2e"


def _binary() -> str:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        pytest.skip("redis-server is not installed")
    return binary


NO_PERSISTENCE = ["--save", "", "--appendonly", "no"]


@pytest.fixture
def acl_redis(tmp_path: Path) -> Iterator[int]:
    """A redis-server whose only user is ``crawler`` with :data:`PASSWORD`."""
    port = free_port()
    proc = start_redis_server(_binary(), ["--port", str(port), *NO_PERSISTENCE, "--user",
                                          "default", "off", "--user", "crawler", "on",
                                          f">{PASSWORD}", "~*", "&*", "+@all"], tmp_path,
                              port=port, username="crawler", password=PASSWORD)
    yield port
    stop_process(proc)


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A redis-server on TLS only, with a certificate for 127.0.0.1 from a CA made here."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path / "tls"
    d.mkdir()

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "1", "-subj", "/CN=acrawl test CA")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "ext.cnf")
    port = free_port()
    proc = start_redis_server(_binary(), [
        "--port", "0", "--tls-port", str(port), *NO_PERSISTENCE, "--tls-cert-file",
        str(d / "server.pem"), "--tls-key-file", str(d / "server.key"), "--tls-ca-cert-file",
        str(d / "ca.pem"), "--tls-auth-clients", "no", "--requirepass", PASSWORD], tmp_path,
        port=port, password=PASSWORD, ssl=True, ssl_ca_certs=str(d / "ca.pem"))
    yield port, d / "ca.pem"
    stop_process(proc)


def _crawl_and_check(tmp_path: Path, frontier: str) -> None:
    site = LinkSite(pages=60)
    with run_in_thread(site, host="127.0.0.1") as srv:
        result = run(tmp_path, "links", "-a", f"url={srv.base_url}/", "--frontier", frontier,
                     "-o", "out.jsonl", "--stats", "stats.json", "--no-progress",
                     "--log-level", "DEBUG")
        assert result.returncode == 0, describe(result)
        expected = {canonicalize_url(u) for u in site.page_urls(srv.base_url)}
    assert sorted(read_urls(tmp_path / "out.jsonl")) == sorted(expected)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["pages"] == 60
    for text in (result.stdout, result.stderr, (tmp_path / "stats.json").read_text(),
                 (tmp_path / "out.jsonl").read_text()):
        assert PASSWORD not in text


def test_acl_credentials_work_and_stay_secret(tmp_path: Path, acl_redis: int) -> None:
    _crawl_and_check(tmp_path, f"redis://crawler:{PASSWORD}@127.0.0.1:{acl_redis}/0")


def test_a_wrong_password_is_a_one_line_error_without_it(tmp_path: Path,
                                                         acl_redis: int) -> None:
    wrong = "not-the-pw-1234"
    result = run(tmp_path, "links", "-a", "url=http://127.0.0.1:1/", "--frontier",
                 f"redis://crawler:{wrong}@127.0.0.1:{acl_redis}/0", "-o", "out.jsonl")
    line = one_line_error(result, "--frontier", "crawler:***@")
    assert wrong not in result.stderr and "password" in line.lower()


def test_tls_frontier(tmp_path: Path, tls_redis: tuple[int, Path]) -> None:
    port, ca = tls_redis
    _crawl_and_check(tmp_path, f"rediss://:{PASSWORD}@127.0.0.1:{port}/0?ssl_ca_certs={ca}")


def test_tls_with_an_unknown_certificate_authority_is_refused(
        tmp_path: Path, tls_redis: tuple[int, Path]) -> None:
    port, _ca = tls_redis
    result = run(tmp_path, "links", "-a", "url=http://127.0.0.1:1/", "--frontier",
                 f"rediss://:{PASSWORD}@127.0.0.1:{port}/0", "-o", "out.jsonl")
    line = one_line_error(result, "--frontier", "certificate")
    assert PASSWORD not in result.stderr, line
