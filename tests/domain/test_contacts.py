import pytest

from intake.domain.contacts import extract_contact, find_phones, preferred_reply
from intake.domain.language import detect_language

OWN = dict(own_addresses={"consulting@sonosa.or.kr"}, own_domains={"sonosa.or.kr"})


@pytest.mark.parametrize("text,phone", [
    ("명하진 드림\n010-7197-8223", "010-7197-8223"),
    ("옥성진 차장\nT. 02-7961-7931  |  F. 02-7961-7932\nE. sjok@mirae-mt.co.kr", "02-7961-7931"),
    ("시형준 팀장\nT. 02-5316-4627\nM. 010-2953-2367", "02-5316-4627"),           # office line before mobile
    ("M. 010-2953-2367\nT. 02-5316-4627", "02-5316-4627"),
    ("태지원 주임\nM. 010-6717-4901", "010-6717-4901"),
    ("Tel: +47-22-555-0133\nEmail: a@b.org", "+47-22-555-0133"),
    ("연 락 처 02-3471-2290", "02-3471-2290"),
    ("보내는 곳: 도봉구 어르신문화센터 (02-992-4410)", "02-992-4410"),
    ("전화 (033) 642-1187", "033-642-1187"),
    ("휴대폰 010.4473.9021", "010-4473-9021"),
    ("연락처: +82 10 1234 5678", "010-1234-5678"),
    ("팩스 042-488-3317\n전화 042-488-3310", "042-488-3310"),
    ("급한 업무는 수신거부: 080-555-0177", None),
    ("등록일시: 2026-03-19 16:46:35", None),
])
def test_customer_phone(text, phone):
    c = extract_contact(text, **OWN)
    assert (c.phones[0] if c.phones else None) == phone


def test_fax_numbers_and_exclusions():
    c = extract_contact("Tel: 032-566-7400   Fax: 032-566-7402", exclude=["032-566-7402"])
    assert c.phones == ("032-566-7400",)
    assert c.fax_numbers == ("032-566-7402",)
    c = extract_contact("FROM: 02 992 4418 DOBONG\n(02-992-4410)", exclude=["02-992-4418"])
    assert c.phones[0] == "02-992-4410"


def test_quoted_acknowledgement_numbers_are_not_the_customer():
    text = (
        "서류 첨부합니다.\n\nT. 02-6908-5551\n\n-----Original Message-----\n"
        "From: 고객지원 <consulting@sonosa.or.kr>\n담당자 : 강민지 (전화 02-6000-7212, mjkang@sonosa.or.kr)\n"
    )
    c = extract_contact(text, **OWN)
    assert c.phones == ("02-6908-5551",)


def test_forwarded_customer_block_is_kept():
    text = ("담당자님, 전달합니다.\n\n-----Original Message-----\nFrom: 탁현민 <hmtak@kumkang-energy.co.kr>\n"
            "상담 요청\nT. 02-7496-2069  |  F. 02-7496-2070\n")
    c = extract_contact(text, **OWN)
    assert c.phones[0] == "02-7496-2069"
    assert "hmtak@kumkang-energy.co.kr" in c.emails


@pytest.mark.parametrize("text,name", [
    ("성명: 마하늘\n소속: 통일나무", "마하늘"),
    ("이름 홍길동", "홍길동"),
    ("감사합니다.\n위지안 드림\n010-2099-3959", "위지안"),
    ("2026년 3월 6일\n전주 한결한지공방 변수아 올림", "변수아"),
    ("안녕하세요. 미래무역 옥성진 차장입니다.", "옥성진"),
    ("안녕하세요.\n문의드립니다.", None),
])
def test_name(text, name):
    assert extract_contact(text).name == name


@pytest.mark.parametrize("text,means", [
    ("공방 전화로 연락 주시면 감사하겠습니다.", "phone"),
    ("가능 여부를 전화로 알려 주시면", "phone"),
    ("발급 준비가 되면 사무처로 전화 주십시오.", "phone"),
    ("결과는 팩스로 회신 부탁드립니다.", "fax"),
    ("이메일로 회신 부탁드립니다.", "email"),
    ("메일로 답변 주세요", "email"),
    ("전화로 들은 내용과 요청 서류가 다릅니다.", None),
    ("서류를 팩스로 보내려고 합니다.", None),
    ("", None),
])
def test_preferred_reply(text, means):
    assert preferred_reply(text) == means


@pytest.mark.parametrize("text,lang", [
    ("안녕하세요. 방북증명서 발급 절차를 알려 주십시오.\n\nT. 02-1234-5678\nE. a@b.co.kr\niPhone에서 보냄", "ko"),
    ("Dear Sir or Madam, we plan to ship hand pumps. The export (반출) approval is filed by our partner.", "en"),
    ("안녕하세요, 교환학생 Emily Choi입니다. 협회에서 summer internship program을 운영하는지 궁금합니다. "
     "한국어는 intermediate level이고 영어는 native입니다. Thank you!", "mixed"),
    ("", "ko"),
])
def test_detect_language(text, lang):
    assert detect_language(text) == lang


def test_find_phones_labels():
    labels = [(h.number, h.label) for h in find_phones("T. 02-111-2222 | F. 02-111-2223 | M. 010-1111-2222")]
    assert labels == [("02-111-2222", "tel"), ("02-111-2223", "fax"), ("010-1111-2222", "mobile")]
