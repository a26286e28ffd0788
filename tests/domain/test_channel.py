import tomllib
from pathlib import Path

import pytest

from intake.domain.channel import decide_channel, load_channel_rules
from intake.domain.contacts import normalize_kr_number
from intake.domain.records import Channel
from intake.errors import ConfigError
from tests.domain._mail import att, make_mail

CONFIG = Path(__file__).resolve().parents[2] / "config" / "channels.toml"
RULES = load_channel_rules(tomllib.loads(CONFIG.read_text(encoding="utf-8")))
TIF = (att("FAX_20260414_103552.tif", "image/tiff"),)
PDF = (att("SCAN_20260302_115706.pdf", "application/pdf"),)


@pytest.mark.parametrize("sender,subject,attachments,channel,number", [
    ("fax-noreply@cloudfax-relay.kr", "팩스 수신 알림 - 02-992-4418", TIF, Channel.FAX, "02-992-4418"),
    ("fax-noreply@cloudfax-relay.kr", "팩스 수신 알림 - 042-488-3317", TIF, Channel.FAX, "042-488-3317"),
    ("fax@gw.faxrelay.kr", "Incoming fax 0234712291", TIF, Channel.FAX, "02-3471-2291"),
    ("fax@gw.faxrelay.kr", "Incoming fax 0312547719", TIF, Channel.FAX, "031-254-7719"),
    ("FAX@GW.FAXRELAY.KR", "Incoming fax +82 31 254 7719", TIF, Channel.FAX, "031-254-7719"),
    ("other-gw@faxservice.example", "[팩스수신] 02-1234-5678", TIF, Channel.FAX, "02-1234-5678"),
    ("fax@gw.faxrelay.kr", "Incoming fax", (att("fax_0325667402_20260316.pdf", "application/pdf"),), Channel.FAX, "032-566-7402"),
    ("scanner@sonosa.or.kr", "스캔 문서 전송 (202603021157)", PDF, Channel.POST, None),
    ("scanner@sonosa.or.kr", "Attached Image", PDF, Channel.POST, None),
    ("mfp3@sonosa.or.kr", "Attached Image", PDF, Channel.POST, None),
    # a customer sending a scanned PDF is still e-mail
    ("someone@gmail.com", "Attached Image", PDF, Channel.EMAIL, None),
    ("customer@example.co.kr", "[팩스수신] 02-1234-5678", (), Channel.EMAIL, None),
    ("customer@example.co.kr", "팩스 번호 문의", (), Channel.EMAIL, None),
    ("customer@example.co.kr", "스캔 문서 전송 (2026)", PDF, Channel.EMAIL, None),
])
def test_decide_channel(sender, subject, attachments, channel, number):
    d = decide_channel(make_mail(from_address=sender, subject=subject, attachments=attachments), RULES)
    assert d.channel is channel
    assert d.fax_number == number
    assert d.evidence


def test_fax_number_from_page_header_when_subject_has_none():
    mail = make_mail(from_address="fax@gw.faxrelay.kr", subject="Incoming fax", attachments=TIF)
    d = decide_channel(mail, RULES, page_text="2026/04/14 10:35  FROM: 02 992 4418  DOBONG  P.001/001\n팩스")
    assert d.fax_number == "02-992-4418"


@pytest.mark.parametrize("raw,expected", [
    ("0234712291", "02-3471-2291"),
    ("0312547719", "031-254-7719"),
    ("029924418", "02-992-4418"),
    ("01012345678", "010-1234-5678"),
    ("+82 10-1234-5678", "010-1234-5678"),
    ("+82-2-3471-2291", "02-3471-2291"),
    ("+82 (0)31 254 7719", "031-254-7719"),
    ("(063) 271.5530", "063-271-5530"),
    ("070 4000 1234", "070-4000-1234"),
    ("1234567", None),
    ("0991234567", None),
])
def test_normalize_kr_number(raw, expected):
    assert normalize_kr_number(raw) == expected


@pytest.mark.parametrize("data,key", [
    ({"fax": [{"id": "x", "senders": ["(bad"]}]}, "fax[0].senders[0]"),
    ({"fax": [{"senders": ["a"]}]}, "fax[0].id"),
    ({"post": [{"id": "p"}]}, "post[0]"),
    ({"fax": [{"id": "x", "senders": ["a"], "colour": 1}]}, "fax[0].colour"),
    ({"fax": {"id": "x"}}, "fax"),
    ({"settings": {"page_types": "pdf"}}, "settings.page_types"),
])
def test_channel_config_errors(data, key):
    with pytest.raises(ConfigError) as e:
        load_channel_rules(data, "channels.toml")
    assert e.value.key == key and e.value.file == "channels.toml"
