import copy
import tomllib
from pathlib import Path

import pytest

from intake.domain.classify import classify, load_category_rules, normalise
from intake.errors import ConfigError

CONFIG = Path(__file__).resolve().parents[2] / "config" / "categories.toml"
DATA = tomllib.loads(CONFIG.read_text(encoding="utf-8"))
RULES = load_category_rules(DATA)


@pytest.mark.parametrize("text", ["반출입신청", "반출입 신청을", "반출·입 신청", "반출 ・ 입신청", "반 출 입 신 청"])
def test_normalise_spacing_and_middle_dots(text):
    assert "반출입신청" in normalise(text)


@pytest.mark.parametrize("subject,body,category", [
    ("반출·입 신청 관련 예비검토 부탁드립니다", "비료 200톤 반출을 준비 중입니다. 서류 검토를 부탁드립니다.", "trade-approval-review"),
    ("물품 반입 승인 전 검토", "북측에서 생산한 수산물 반입승인 신청을 앞두고 있습니다.", "trade-approval-review"),
    ("방북 증명서 받는 방법", "통일부 방북 승인을 받았는데 증명서는 어디서 받나요?", "visit-certificate"),
    ("차량 운행 승인서 발급", "통일부 차량 운행 승인을 받은 트럭 2대의 운행승인서를 신청합니다.", "vehicle-permit"),
    ("교역 상담 요청", "북측과 의류 임가공 교역을 검토 중인데 상담을 받고 싶습니다.", "consulting-trade"),
    ("인도적 지원 상담", "대북 인도적 지원 사업을 처음 하려는 단체입니다. 절차 상담을 부탁드립니다.", "consulting-humanitarian"),
    ("역량강화 교육 신청", "하반기 교육 과정에 3명 신청합니다.", "training"),
    ("세미나 자료 요청", "지난 세미나 발표 자료를 받을 수 있을까요?", "information"),
    ("뉴스레터 구독", "뉴스레터를 받아 보고 싶습니다.", "information"),
    ("발급 서류 오류 정정 요청", "방북증명서에 이름이 잘못 적혀 있습니다. 정정해 주세요.", "correction-request"),
    ("운행승인서 기간 오기", "운행승인서의 기간이 잘못 기재되어 정정 발급을 요청합니다.", "correction-request"),
    ("홈페이지 개선 건의", "예비검토 신청 양식을 홈페이지에서 바로 작성할 수 있게 개선해 주시면 좋겠습니다.", "suggestion"),
    ("협회 휴무일", "이번 주 금요일 공휴일에 협회가 쉬는 날인지 궁금합니다.", "general"),
    ("Pre-review of export documents", "We would like a pre-review of our export approval application.", "trade-approval-review"),
    ("Forum attendance", "Can foreign researchers attend your forum in May?", "information"),
    ("승인 통보 받았습니다", "방북 승인 통보를 받았습니다. 증명서 수령은 언제 가능한가요?", "visit-certificate"),
    ("Question about visiting", "Do I need a certificate to visit North Korea after approval?", "visit-certificate"),
    # asking about missing documents is not a complaint; a past omission is
    ("예비검토 서류 누락 여부", "반입승인 예비검토를 신청하려는데 누락된 서류가 있는지 확인해 주세요.", "trade-approval-review"),
    ("처리 지연", "예비검토 신청 후 2주가 지났는데 아직 연락이 없습니다. 처리 기간을 넘긴 이유를 알려 주세요.", "correction-request"),
    ("교육 신청서를 잘못 제출했습니다", "교육 신청서를 잘못 제출했는데 다시 보내도 될까요?", "training"),
    ("담당자 응대 불만", "어제 전화 응대가 너무 불친절했습니다. 시정해 주시기 바랍니다.", "correction-request"),
])
def test_classify_table(subject, body, category):
    c = classify({"subject": subject, "body": body}, RULES)
    assert c.category == category, [e.detail for e in c.evidence if e.rule == "category.scores"]
    assert c.department == RULES.category(category).department


def test_departments_and_policies():
    assert RULES.category("visit-certificate").department == "support-center"
    assert RULES.category("information").department == "research"
    assert RULES.category("suggestion").department == "business"
    assert RULES.category("correction-request").policy == "correction"
    assert RULES.category("trade-approval-review").policy == "reply"
    assert RULES.category("trade-approval-review").work_policy == "review"
    assert RULES.category("vehicle-permit").work_policy == "issuance"
    assert RULES.category("visit-certificate").work_policy == "issuance"
    assert RULES.departments["support-center"] == "종합지원센터"


def test_low_confidence_goes_to_general():
    c = classify({"subject": "문의", "body": "안녕하세요. 확인 부탁드립니다."}, RULES)
    assert c.category == "general" and c.low_confidence
    assert any(e.rule == "category.low-confidence" for e in c.evidence)


def test_evidence_has_hits_scores_and_runner_up():
    c = classify({"subject": "방북증명서 발급", "body": "방북 승인 통보서를 첨부합니다."}, RULES)
    rules = [e.rule for e in c.evidence]
    assert "category.visit-certificate.kw:방북증명서" in rules
    assert "category.scores" in rules and "category.runner-up" in rules
    assert not c.low_confidence and 0.5 < c.confidence <= 1.0


def test_subject_weighs_more_than_body():
    c = classify({"subject": "운행승인서", "body": "세미나"}, RULES)
    assert c.category == "vehicle-permit"


def test_attachment_names_count():
    c = classify({"subject": "서류 보냅니다", "body": "확인 부탁드립니다.", "attachments": ("방북증명서_신청서.hwp",)}, RULES)
    assert c.category == "visit-certificate"


def test_longer_keyword_does_not_double_count():
    c = classify({"body": "방북증명서"}, RULES)
    hits = [e.rule for e in c.evidence if e.rule.startswith("category.visit-certificate.kw:")]
    assert hits == ["category.visit-certificate.kw:방북증명서"]


def _broken(path, value):
    data = copy.deepcopy(DATA)
    node = data
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize("path,value,key", [
    (("categories", "training", "department"), "sales", "categories.training.department"),
    (("categories", "training", "policy"), "weekly", "categories.training.policy"),
    (("categories", "training", "work_policy"), "soon", "categories.training.work_policy"),
    (("categories", "training", "regex"), [["(unclosed", 1.0]], "categories.training.regex[0]"),
    (("categories", "training", "keywords"), [["교육", "heavy"]], "categories.training.keywords[0]"),
    (("categories", "training", "colour"), "red", "categories.training.colour"),
    (("categories", "gossip"), {"label": "x", "department": "business"}, "categories.gossip"),
    (("categories", "general"), KeyError, "categories.general"),
    (("settings", "min_score"), "low", "settings.min_score"),
    (("fields", "footer"), 1.0, "fields.footer"),
    (("departments",), {}, "departments"),
])
def test_config_errors_name_the_key(path, value, key):
    with pytest.raises(ConfigError) as e:
        load_category_rules(_broken(path, value), "categories.toml")
    assert e.value.key == key
    assert e.value.file == "categories.toml"
