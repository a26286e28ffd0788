"""SmtpMailer against a real aiosmtpd sink on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import json
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from intake.adapters.smtp_mailer import SmtpAuthError, SmtpMailer, SmtpTlsError
from intake.devservers.certs import create_ca
from intake.devservers.smtp_sink import SmtpSink
from intake.errors import PermanentDeliveryError, TemporaryDeliveryError
from intake.settings_types import SmtpSettings
from tests.devservers_fixtures import smtp_sink, tls_ca  # noqa: F401

pytestmark = pytest.mark.integration

ACK = ("From: 남북교류협력지원협회 <consulting@sonosa.or.kr>\r\n"
       "To: 김철수 <kim@example.kr>\r\n"
       "Subject: =?utf-8?b?7KCR7IiYIO2ZleyduA==?=\r\n"
       "MIME-Version: 1.0\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n"
       "Content-Transfer-Encoding: 8bit\r\n\r\n"
       "김철수 님, 접수번호 2024-0001 로 접수되었습니다.\r\n"
       "처리 기한: 2024년 3월 15일\r\n").encode("utf-8")


def settings_for(sink, security: str = "starttls", **kw) -> SmtpSettings:
    port = sink.ssl_port if security == "ssl" else sink.port
    base = SmtpSettings(host=sink.host, port=port, security=security,
                        ca_file=sink.ca_file, timeout_seconds=5.0)
    return replace(base, **kw)


@pytest.mark.parametrize("security", ["starttls", "ssl", "none"])
def test_send_korean_message_intact(smtp_sink, security):  # noqa: F811
    with SmtpMailer(settings_for(smtp_sink, security)) as mailer:
        mailer.send(ACK, "consulting@sonosa.or.kr", ["kim@example.kr"])
    [msg] = smtp_sink.messages()
    assert msg.raw == ACK
    assert msg.mail_from == "consulting@sonosa.or.kr"
    assert msg.rcpt_to == ["kim@example.kr"]
    assert msg.tls is (security != "none")
    # stored as <n>-<timestamp>.eml + .json sidecar, no temp files left
    assert msg.path.name.startswith("1-") and msg.path.suffix == ".eml"
    meta = json.loads(msg.path.with_suffix(".json").read_text())
    assert meta["rcpt_to"] == ["kim@example.kr"]
    assert not list(msg.path.parent.glob(".*.tmp"))


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_wrong_ca_refused(smtp_sink, tmp_path, security):  # noqa: F811
    other = create_ca(tmp_path / "other-ca", common_name="someone else")
    mailer = SmtpMailer(settings_for(smtp_sink, security,
                                     ca_file=other.ca_file))
    with pytest.raises(SmtpTlsError) as info:
        mailer.send(ACK, "consulting@sonosa.or.kr", ["kim@example.kr"])
    assert isinstance(info.value, TemporaryDeliveryError)
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert smtp_sink.messages() == []


def test_bare_starttls_would_accept_any_cert_but_we_do_not(smtp_sink, tmp_path):  # noqa: F811
    # documents the pitfall: smtplib's starttls() without a context does
    # not verify; the mailer always passes a verifying context
    conn = smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=5)
    conn.starttls()
    conn.quit()
    with pytest.raises(SmtpTlsError):
        SmtpMailer(settings_for(smtp_sink, ca_file=None)).connect()


def test_4xx_is_temporary_then_retry_succeeds(smtp_sink):  # noqa: F811
    smtp_sink.fail_next(1, 451)
    with SmtpMailer(settings_for(smtp_sink)) as mailer:
        with pytest.raises(TemporaryDeliveryError) as info:
            mailer.send(ACK, "consulting@sonosa.or.kr", ["kim@example.kr"])
        assert not isinstance(info.value, PermanentDeliveryError)
        assert info.value.smtp_code == 451
        assert "451" in str(info.value) and "temporary failure" in str(info.value)
        mailer.send(ACK, "consulting@sonosa.or.kr", ["kim@example.kr"])
    assert [m.raw for m in smtp_sink.messages()] == [ACK]


def test_5xx_is_permanent(smtp_sink):  # noqa: F811
    smtp_sink.fail_next(1, 550, "5.7.1 no such mailbox here")
    with SmtpMailer(settings_for(smtp_sink, "ssl")) as mailer:
        with pytest.raises(PermanentDeliveryError) as info:
            mailer.send(ACK, "consulting@sonosa.or.kr", ["kim@example.kr"])
    assert info.value.smtp_code == 550
    assert "550" in str(info.value) and "no such mailbox here" in str(info.value)
    assert smtp_sink.messages() == []


def test_connection_is_reused_and_reopened_after_drop(smtp_sink):  # noqa: F811
    opened = []

    def counting_factory(settings, context):
        opened.append(1)
        return smtplib.SMTP(settings.host, settings.port,
                            timeout=settings.timeout_seconds)

    mailer = SmtpMailer(settings_for(smtp_sink), connect_factory=counting_factory)
    for _ in range(3):
        mailer.send(ACK, "consulting@sonosa.or.kr", ["kim@example.kr"])
    assert len(opened) == 1
    smtp_sink.stop()
    smtp_sink.start()  # same ports; old connection is gone
    mailer.send(ACK, "consulting@sonosa.or.kr", ["kim@example.kr"])
    assert len(opened) == 2
    mailer.close()
    assert [m.number for m in smtp_sink.messages()] == [1, 2, 3, 4]


def test_server_down_is_temporary(smtp_sink):  # noqa: F811
    settings = settings_for(smtp_sink)
    smtp_sink.stop()
    with pytest.raises(TemporaryDeliveryError) as info:
        SmtpMailer(settings).send(ACK, "a@sonosa.or.kr", ["b@example.kr"])
    assert info.value.smtp_code is None


def test_silent_server_times_out_as_temporary():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts TCP (backlog) but never greets
        settings = SmtpSettings(host="127.0.0.1",
                                port=listener.getsockname()[1],
                                security="none", timeout_seconds=0.5)
        t0 = time.monotonic()
        with pytest.raises(TemporaryDeliveryError):
            SmtpMailer(settings).send(ACK, "a@sonosa.or.kr", ["b@example.kr"])
        assert time.monotonic() - t0 < 3


def test_auth(tls_ca, tmp_path):  # noqa: F811
    with SmtpSink(tmp_path / "sink", ca=tls_ca, auth=("intake", "s3cret"),
                  require_starttls=True) as sink:
        ok = settings_for(sink, username="intake", password="s3cret")
        with SmtpMailer(ok) as mailer:
            mailer.send(ACK, "consulting@sonosa.or.kr", ["kim@example.kr"])
        assert [m.authenticated_as for m in sink.messages()] == ["intake"]
        bad = replace(ok, password="wrong")
        with pytest.raises(SmtpAuthError):
            SmtpMailer(bad).send(ACK, "consulting@sonosa.or.kr",
                                 ["kim@example.kr"])
        # STARTTLS required by the sink: plain delivery refused with 5xx
        with pytest.raises(PermanentDeliveryError) as info:
            SmtpMailer(settings_for(sink, "none")).send(
                ACK, "consulting@sonosa.or.kr", ["kim@example.kr"])
        assert info.value.smtp_code == 530


def test_smtp_sink_cli(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "intake.devservers.smtp_sink", "--dir",
         str(tmp_path / "out")], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2])
    try:
        info = json.loads(proc.stdout.readline())
        settings = SmtpSettings(host=info["host"], port=info["port"],
                                security="starttls",
                                ca_file=Path(info["ca_file"]),
                                timeout_seconds=5)
        with SmtpMailer(settings) as mailer:
            mailer.send(ACK, "consulting@sonosa.or.kr", ["kim@example.kr"])
        assert [p.read_bytes() for p in (tmp_path / "out").glob("*.eml")] == [ACK]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
