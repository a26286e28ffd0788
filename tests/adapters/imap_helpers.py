"""Helpers shared by the IMAP adapter's tests (real Dovecot, no mocks)."""

from __future__ import annotations

from dataclasses import replace

from intake.settings_types import ImapSettings


def settings_for(server, security: str = "ssl", **kw) -> ImapSettings:
    port = server.imaps_port if security == "ssl" else server.imap_port
    base = ImapSettings(host=server.host, port=port, security=security,
                        username=server.user, password=server.password,
                        ca_file=server.ca_file, timeout_seconds=5.0,
                        poll_seconds=1)
    return replace(base, **kw)


def message(n: int, subject: str = "상담 신청") -> bytes:
    return (f"From: 김철수 <kim@example.kr>\r\n"
            f"To: consulting@sonosa.or.kr\r\n"
            f"Subject: {subject} {n}\r\n"
            f"Message-ID: <m{n}@example.kr>\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n\r\n"
            f"안녕하세요. 문의 {n}번입니다.\r\n").encode("utf-8")
