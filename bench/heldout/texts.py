"""Texts of the held-out set (bench/heldout): requests by category, spam, auto-replies.

Written for the held-out evaluation only (issue 15): none of these were used to write or tune
rules, and they are never training data (``intake train`` reads the shared samples and the database).
Every person, company, address and number is invented.
"""

from __future__ import annotations

# (category, subject, body lines, phone written in the text or None, language)
REQUESTS_KO: list[tuple[str, str, list[str], str | None]] = [
    ("trade-approval-review", "농기계 부품 반출 승인 신청 전 검토 요청", [
        "개성 지역 협력농장에 보낼 트랙터 교체 부품 반출을 준비하고 있습니다.",
        "통일부에 승인 신청서를 내기 전에 품목 목록과 인보이스를 먼저 검토받고 싶습니다.",
        "전략물자 해당 여부도 함께 확인해 주시면 고맙겠습니다."], "031-8071-2245"),
    ("trade-approval-review", "반입 예정 수산물 서류 예비검토 부탁드립니다", [
        "내년 1월 반입 예정인 건조 수산물 관련 원산지 증명과 계약서 초안을 보내드립니다.",
        "반입승인 신청 전에 서류에 빠진 것이 없는지 예비검토를 받고자 합니다."], "051-442-7810"),
    ("trade-approval-review", "수송장비 운행 승인 신청서 사전 검토", [
        "지원 물자를 실어 나를 선박의 수송장비 운행승인 신청을 앞두고 있습니다.",
        "신청서 작성 방법과 첨부 서류가 맞는지 먼저 봐 주실 수 있는지요."], None),
    ("trade-approval-review", "의류 원단 반출 품목 확인 요청", [
        "임가공용 원단과 부자재를 반출하려고 합니다.",
        "품목별 HS 코드와 수량을 정리한 목록을 첨부하니 반출 승인 신청 전에 검토 부탁드립니다."], "02-2164-3390"),
    ("visit-certificate", "방북증명서 발급 절차 문의", [
        "다음 달 평양 학술회의 참석이 승인되었습니다.",
        "방북증명서는 언제 어디서 받을 수 있는지, 대리 수령도 가능한지 알려 주십시오."], "010-3381-4402"),
    ("visit-certificate", "방북 증명서 발급 신청합니다", [
        "통일부 방북 승인 통보서를 받았습니다.",
        "단체 방문 인원 7명의 방북증명서 발급을 신청하오니 필요한 서류를 안내해 주시기 바랍니다."], None),
    ("visit-certificate", "증명서 수령 일정 확인", [
        "지난주 신청한 방북증명서가 언제 발급되는지 궁금합니다.",
        "출국 전날까지는 받아야 해서 수령 가능한 날짜를 알려 주십시오."], "02-737-5521"),
    ("vehicle-permit", "화물차 운행승인서 발급 요청", [
        "개성 방면으로 물자를 운송할 5톤 화물차 2대의 운행승인서가 필요합니다.",
        "차량등록증과 운전자 명단, 보험증권 사본을 보내드립니다."], "031-946-2207"),
    ("vehicle-permit", "승합차 운행 승인서 발급 문의", [
        "방문단 이동용 승합차 1대의 운행승인서를 발급받고자 합니다.",
        "발급까지 걸리는 기간과 준비할 서류를 알려 주시기 바랍니다."], None),
    ("vehicle-permit", "차량 운행승인서 재발급 신청", [
        "크레인 차량의 운행승인서를 분실하여 다시 발급받으려 합니다.",
        "재발급에 필요한 절차를 안내해 주십시오."], "032-883-1150"),
    ("consulting-trade", "남북 교역 사업 상담 신청", [
        "저희 회사는 의류 임가공을 하는 중소기업입니다.",
        "남북 교역 재개에 대비해 거래 구조와 대금 결제 방식에 대한 상담을 받고 싶습니다."], "02-6959-1402"),
    ("consulting-trade", "경협 투자 관련 컨설팅 요청", [
        "북측 특산물 수입과 합작 투자 가능성을 검토하고 있습니다.",
        "제재 관련 유의사항과 절차에 대해 컨설팅을 받을 수 있을지 문의드립니다."], None),
    ("consulting-trade", "수출 거래처 발굴 상담 문의", [
        "농업 설비를 만드는 회사입니다. 남북경협이 가능해지면 설비 수출을 하고 싶습니다.",
        "사전에 준비할 사항을 상담받고 싶습니다."], "055-281-6634"),
    ("consulting-humanitarian", "인도적 지원 사업 상담 요청", [
        "저희 단체는 영유아 영양 지원을 준비하고 있습니다.",
        "분유와 영양제 지원 사업을 처음 추진하는데 절차 전반에 대한 상담을 요청드립니다."], "02-3144-0912"),
    ("consulting-humanitarian", "의약품 지원 가능 여부 문의", [
        "결핵 치료제와 상비약을 북측 보건기관에 보내려고 합니다.",
        "인도지원 물자로 보낼 때 필요한 절차와 기간을 상담받을 수 있을까요?"], None),
    ("consulting-humanitarian", "개발협력 사업 후원 방법 상담", [
        "교회 봉사 모임에서 대북 개발협력 사업에 후원하고 싶어 합니다.",
        "믿을 만한 지원단체와 후원 방법에 대해 상담 부탁드립니다."], "010-5524-8830"),
    ("training", "역량강화 교육 참가 신청", [
        "12월 역량강화 교육 과정에 저희 직원 3명이 참가하고 싶습니다.",
        "신청 방법과 교육장 위치를 알려 주시기 바랍니다."], "02-880-4471"),
    ("training", "남북협력 실무자 교육 일정 문의", [
        "내년 상반기 실무자 교육 과정 일정이 나왔는지 궁금합니다.",
        "수료증이 발급되는지도 알려 주십시오."], None),
    ("training", "지역 주민 대상 통일 강좌 강의 요청", [
        "주민센터 평생학습 강좌로 남북 교류 입문 강의를 열고 싶습니다.",
        "강사 파견이 가능한지 문의드립니다."], "043-271-5580"),
    ("information", "세미나 발표자료 요청", [
        "지난달 열린 남북 경제 세미나에 참석했습니다.",
        "발표자료와 자료집을 받을 수 있는지 여쭙니다."], None),
    ("information", "뉴스레터 구독 신청", [
        "협회 뉴스레터를 정기적으로 받아 보고 싶습니다.",
        "이 주소로 구독 신청합니다."], None),
    ("information", "남북교역 통계 자료 문의", [
        "논문 작성을 위해 최근 10년간 남북교역 통계가 필요합니다.",
        "정보제공플랫폼에서 받을 수 있는지, 연구보고서도 있는지 알려 주십시오."], "010-2247-9013"),
    ("information", "포럼 공동개최 제안 관련 문의", [
        "저희 연구소와 협회가 내년 봄 평화경제 포럼을 함께 열 수 있을지 여쭙니다.",
        "담당 부서를 알려 주시면 자세한 계획서를 보내겠습니다."], "02-760-3318"),
    ("correction-request", "증명서 이름 오기 정정 요청", [
        "어제 받은 증명서에 제 이름이 잘못 기재되어 있습니다.",
        "여권과 같게 정정하여 다시 발급해 주시기 바랍니다."], "010-8832-1974"),
    ("correction-request", "처리 기한이 지났는데 회신이 없습니다", [
        "지난달 신청한 건이 처리 기한을 넘겼는데 아무런 회신이 없습니다.",
        "경위를 설명해 주시고 빨리 처리해 주시기 바랍니다."], None),
    ("correction-request", "상담 직원 응대에 대한 불만", [
        "오늘 전화 상담에서 불친절한 응대를 받았습니다.",
        "안내받은 내용도 홈페이지와 다릅니다. 시정을 요청합니다."], "02-415-7736"),
    ("suggestion", "온라인 신청 시스템 개선 제안", [
        "신청서를 매번 출력해서 팩스로 보내는 것이 불편합니다.",
        "온라인으로 제출하고 진행 상황을 볼 수 있게 개선해 주시면 좋겠습니다."], None),
    ("suggestion", "교육 자료 제공 방식 건의", [
        "교육이 끝난 뒤 자료를 누리집에 올려 주시면 복습에 큰 도움이 될 것 같습니다.",
        "건의드리니 검토 부탁드립니다."], "010-4471-2093"),
    ("suggestion", "안내문 가독성 개선 제안", [
        "협회 안내문 글씨가 작아 어르신들이 읽기 어렵습니다.",
        "글자 크기를 키우고 핵심 내용을 먼저 적는 방식으로 개선을 제안합니다."], None),
    ("general", "협회 사무실 위치와 근무시간 문의", [
        "서류를 직접 가져다 드리려고 합니다.",
        "사무실 주소와 근무시간, 점심시간을 알려 주시기 바랍니다."], "010-9902-3318"),
    ("general", "연말 휴무 일정 문의", [
        "연말연시에 협회가 쉬는 날이 언제인지 궁금합니다.",
        "그 기간에 접수한 문의는 언제 답변을 받을 수 있나요?"], None),
    ("general", "협회 소개자료 요청", [
        "기관 협력 검토를 위해 협회가 하는 일을 정리한 소개자료나 브로슈어를 받고 싶습니다."], "02-3210-4485"),
    ("general", "인턴 채용 계획 문의", [
        "북한학을 전공하는 대학생입니다.",
        "내년에 인턴 채용 계획이 있는지 알고 싶습니다."], None),
]

REQUESTS_EN: list[tuple[str, str, list[str], str | None]] = [
    ("consulting-humanitarian", "Humanitarian aid consultation", [
        "Our NGO in Geneva plans a small project supplying TB medicines to clinics in North Korea.",
        "Could we book a consultation on the approval procedure for humanitarian shipments?"], None),
    ("information", "Request for seminar materials", [
        "I attended your seminar on inter-Korean economic cooperation last month.",
        "Would it be possible to receive the presentation slides and the report?"], None),
    ("training", "Training course for foreign researchers", [
        "Do you offer any training course in English for visiting researchers?",
        "I would like to register two colleagues for the next session."], "+1 617 555 0142"),
    ("consulting-trade", "Inquiry on trade consulting", [
        "We are a Swedish company considering trade with partners in North Korea once sanctions allow.",
        "Is consulting available on the rules for inter-Korean trade and payment?"], None),
    ("general", "Office address and opening hours", [
        "I would like to visit your office next week.",
        "Could you tell me the address and opening hours?"], None),
    ("suggestion", "Suggestion for your English website", [
        "Your English pages are hard to navigate.",
        "I suggest adding a short English guide to the application forms; it would improve access for foreign NGOs."], None),
    ("visit-certificate", "Visit certificate for our delegation", [
        "Our delegation received approval from the Ministry of Unification to visit Pyongyang.",
        "Please let us know how to obtain the visit certificate for four members."], None),
    ("correction-request", "Wrong name on our certificate", [
        "The certificate you issued shows an incorrect spelling of my name.",
        "Please correct it and issue it again."], "+44 20 7946 0321"),
]

# Sender names (Korean, invented) and their mailboxes.
PEOPLE = [
    ("한지수", "jisu.han"), ("오세린", "serin_oh"), ("문태호", "thmoon"), ("배가은", "gaeun.bae"),
    ("신동욱", "dw.shin"), ("류하나", "hana.ryu"), ("전민재", "minjae.jeon"), ("탁수빈", "subin.tak"),
    ("봉지훈", "jihoon.bong"), ("설아름", "areum.seol"), ("채윤서", "yunseo.chae"), ("석준기", "junki.seok"),
    ("편소이", "soi.pyun"), ("길예준", "yejun.gil"), ("위다은", "daeun.wi"), ("마성진", "sjma"),
]
DOMAINS = ["naver.com", "hanmail.net", "gmail.com", "daum.net", "kakao.com",
           "hanbit-trade.co.kr", "peace-ngo.or.kr", "uni-research.ac.kr", "seoul-coop.org", "nate.com"]
EN_PEOPLE = [("Maria Lindqvist", "maria.lindqvist@stockholm-aid.se"), ("James Whitfield", "j.whitfield@oxbridge-policy.org"),
             ("Anna Keller", "anna.keller@helvetas-med.ch"), ("David Moreau", "dmoreau@paris-eurasia.fr"),
             ("Emily Carter", "ecarter@bostonresearch.org"), ("Tom Baker", "tom.baker@lonsdale.co.uk"),
             ("Sofia Rossi", "s.rossi@milano-coop.it"), ("Lars Nyberg", "lars@nordic-trade.se")]
