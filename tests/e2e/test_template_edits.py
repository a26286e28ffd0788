"""A running daemon and an admin's broken template edit: mail keeps flowing with the last good version."""

from __future__ import annotations

import email
import shutil
import signal
import subprocess
import sys
import time
from email.header import decode_header, make_header
from email.policy import default as default_policy

from sqlmodel import select

from intake.models import AuditEvent, Outbox, TemplateVersion
from tests.e2e.harness import wait_for, REPO, make_env, sample_bytes


def _subject(raw: bytes) -> str:
    return str(make_header(decode_header(email.message_from_bytes(raw, policy=default_policy)["Subject"])))


def test_broken_edit_is_rejected_reported_once_and_last_good_version_keeps_serving(tmp_path, dovecot, smtp_sink):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    env = make_env(tmp_path, dovecot, smtp_sink, f"sqlite:///{tmp_path / 'intake.db'}", templates=templates)
    proc = subprocess.Popen([sys.executable, "-m", "intake", "--config", str(env.config), "run"], cwd=str(REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        env.append(sample_bytes("sample-001.eml"))
        assert wait_for(lambda: len(smtp_sink.messages()) >= 2, 30)
        ack_file = templates / "acknowledgement.txt.j2"
        good = ack_file.read_text(encoding="utf-8")
        assert "{{ handler.phone|phone }}" in good
        ack_file.write_text(good.replace("{{ handler.phone|phone }}", "(전화 생략)"), encoding="utf-8")   # breaks the charter
        assert wait_for(lambda: any("[템플릿 오류]" in _subject(m.raw) for m in smtp_sink.messages()), 40), \
            "the admins were not told"
        env.append(sample_bytes("sample-002.eml"))
        assert wait_for(lambda: len([m for m in smtp_sink.messages() if m.rcpt_to == ["hajin.myung@posteo.net"]]) == 1, 30)
        time.sleep(12)                     # another template check passes: still only one notice
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-3000:]
    notices = [m for m in smtp_sink.messages() if "[템플릿 오류]" in _subject(m.raw)]
    assert len(notices) == 1 and notices[0].rcpt_to == ["minsu.kim@example.org"]
    notice_text = email.message_from_bytes(notices[0].raw, policy=default_policy).get_body(("plain",)).get_content()
    assert "acknowledgement.txt.j2" in notice_text and "phone" in notice_text
    second_ack = [m for m in smtp_sink.messages() if m.rcpt_to == ["hajin.myung@posteo.net"]][0]
    text = email.message_from_bytes(second_ack.raw, policy=default_policy).get_body(("plain",)).get_content()
    assert "(전화 생략)" not in text and "02-6000-11" in text, "the last good version rendered the acknowledgement"
    with env.session() as s:
        versions = {o.template_version for o in s.exec(select(Outbox).where(Outbox.purpose == "acknowledgement")).all()}
        assert len(versions) == 1, "both acknowledgements came from the same (good) version"
        kept = s.exec(select(TemplateVersion).where(TemplateVersion.name == "acknowledgement")).one()
        assert "{{ handler.phone|phone }}" in kept.content, "the exact text that was sent is kept"
        assert s.exec(select(AuditEvent).where(AuditEvent.event == "template-rejected")).all()
