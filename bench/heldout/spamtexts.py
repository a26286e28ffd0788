"""Held-out robots: modern spam, header-less auto-replies, receipts of our acknowledgement, and
a few real follow-ups (so the robot rules are measured against human replies too)."""

from __future__ import annotations

ACK = "[접수 {ref}] 남북교류협력지원협회 문의 접수 안내"
ACK_BODY = ("고객님, 안녕하십니까.\n남북교류협력지원협회입니다.\n\n보내 주신 민원이 정상적으로 접수되었습니다.\n\n"
            "  접수번호  : {ref}\n  제목      : {subj}\n  처리 기한 : 2026년 12월 {day}일 (목) 18:00\n\n"
            "담당자가 내용을 검토한 뒤 처리 기한까지 답변드리겠습니다.\n\n"
            "이 메일에 회신하실 때에는 제목의 [접수 {ref}] 표시를 지우지 말아 주십시오.\n\n"
            "감사합니다.\n\n남북교류협력지원협회 드림\nconsulting@sonosa.or.kr\n")


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


def _s(frm, subject, body, language="ko", headers=(), notes="", name=None):
    return {"kind": "spam", "from": frm, "from_name": name or frm.split("@")[0], "subject": subject, "body": body,
            "language": language, "headers": list(headers), "notes": notes}


def spam(rng) -> list[dict]:
    out = [
        _s("account-security@naver-member-verify.com", "[네이버] 회원님의 계정 재인증이 필요합니다",
           "회원님의 계정에서 비정상적인 로그인 시도가 확인되었습니다.\n24시간 이내에 아래 링크에서 본인 확인을 완료하지 않으면 "
           "계정 이용이 제한됩니다.\n\n재인증 하기: http://naver-member-verify.com/auth?id=consulting\n\n네이버 고객센터",
           notes="phishing re-verification"),
        _s("security@kakao-safe-login.net", "[카카오] 새로운 기기에서 로그인이 감지되었습니다",
           "고객님의 카카오계정이 해외 IP에서 로그인되었습니다.\n본인이 아니라면 즉시 비밀번호를 재설정하고 계정을 보호하세요.\n"
           "보호 조치 진행: http://kakao-safe-login.net/protect\n", notes="phishing"),
        _s("it-helpdesk@sonosa-mail-support.com", "Action required: verify your mailbox within 24 hours",
           "Dear user,\n\nYour mailbox consulting@sonosa.or.kr has exceeded its storage quota. To avoid suspension, "
           "re-validate your account now:\n\nhttps://sonosa-mail-support.com/owa/verify\n\nFailure to verify within 24 "
           "hours will result in permanent deactivation.\n\nIT Helpdesk", language="en", notes="phishing"),
        _s("no-reply@microsoft365-passwords.com", "Your password expires today",
           "Your Microsoft 365 password for consulting@sonosa.or.kr expires today.\nKeep your current password by "
           "confirming it here: https://microsoft365-passwords.com/keep\n\nMicrosoft account team", language="en",
           notes="phishing"),
        _s("notice@kbstar-secure.kr", "[KB국민은행] 보안 인증서 갱신 안내",
           "고객님의 공동인증서가 만료 예정입니다.\n아래 주소에서 본인인증 후 보안카드 번호 전체를 입력하여 갱신하시기 바랍니다.\n"
           "http://kbstar-secure.kr/renew\n", notes="bank phishing"),
        _s("delivery@cj-parcel-notice.com", "[CJ대한통운] 주소 불일치로 배송이 보류되었습니다",
           "고객님의 택배가 주소 불일치로 배송 보류 중입니다.\n48시간 안에 주소를 확인하지 않으면 반송됩니다.\n"
           "주소 확인: http://cj-parcel-notice.com/t/88213\n", notes="parcel on hold"),
        _s("tracking@dhl-express-customs.com", "DHL: Your parcel is on hold - customs fee required",
           "Your shipment 4471029931 is on hold at customs.\nPlease pay the outstanding fee of USD 2.99 to release "
           "your parcel:\nhttps://dhl-express-customs.com/pay\n\nDHL Express", language="en", notes="parcel on hold"),
        _s("epost@koreapost-redelivery.com", "[우체국] 소포 반송 예정 안내",
           "등기소포가 수취인 부재로 보관 중입니다. 재배송 신청을 하지 않으면 3일 후 반송됩니다.\n"
           "재배송 신청: http://koreapost-redelivery.com\n", notes="parcel"),
        _s("accounts@global-supplies-billing.com", "Overdue invoice INV-20394 - final reminder",
           "Dear customer,\n\nOur records show that invoice INV-20394 (EUR 4,870.00) is 30 days overdue. Please review "
           "the attached statement and settle the balance today to avoid collection fees.\n\nView invoice: "
           "https://global-supplies-billing.com/inv/20394\n\nAccounts Receivable", language="en",
           notes="overdue invoice"),
        _s("billing@hiworks-payment.kr", "[미납 안내] 11월 이용요금 미납으로 서비스가 중지될 예정입니다",
           "귀 기관의 11월 이용요금이 미납되었습니다.\n12월 5일까지 납부하지 않으면 메일 서비스가 중지됩니다.\n"
           "미납 요금 확인 및 결제: http://hiworks-payment.kr/bill\n", notes="overdue invoice"),
        _s("ranking@seo-toppartners.com", "Get sonosa.or.kr on the first page of Google",
           "Hello,\n\nI noticed your website sonosa.or.kr is not ranking for important keywords. Our SEO team "
           "guarantees first page rankings within 60 days. Can I send you a free audit and our price list?\n\n"
           "Best regards,\nKevin, SEO Manager\n\nIf you do not want to hear from us, reply STOP.", language="en",
           notes="SEO offer"),
        _s("marketing@naver-sangwi.co.kr", "홈페이지 네이버 상위노출 보장해 드립니다",
           "안녕하세요. 검색 상위노출 전문 업체입니다.\n협회 홈페이지를 네이버·구글 첫 페이지에 노출해 드립니다.\n"
           "효과 없으면 100% 환불, 지금 상담 신청하시면 첫 달 무료입니다.\n", notes="SEO offer"),
        _s("vip@stock-rising-club.com", "[급등예고] 내일 상한가 종목 무료 공개",
           "세력 매집이 끝난 종목을 무료로 알려 드립니다.\n지난주 추천 종목 +187% 수익 달성!\n"
           "지금 카톡 오픈채팅 입장하시면 내일 급등 종목을 바로 받아 보실 수 있습니다.\n", notes="stock tips"),
        _s("alerts@pennystock-insider.net", "This stock could 10x before Friday",
           "Insiders are buying. Our analysts found a small-cap stock ready to explode.\nGet the ticker free "
           "before the market opens: https://pennystock-insider.net/free\n", language="en", notes="stock tips"),
        _s("purchase.dept@gmail.com", "Request for Quotation - PO#4471 (urgent)",
           "Dear Sir/Madam,\n\nPlease find our purchase order and request for quotation in the attached link. "
           "Kindly quote your best price and delivery time at your earliest.\n\nView RFQ document: "
           "https://docs-share-view.com/rfq4471\n\nRegards,\nProcurement Manager", language="en",
           notes="fake quotation request"),
        _s("sales.kim0821@gmail.com", "견적 요청드립니다 (첨부 확인 부탁드립니다)",
           "안녕하세요.\n귀사의 제품 견적을 요청드립니다.\n첨부 문서는 보안을 위해 아래 링크에서 로그인 후 확인 가능합니다.\n"
           "http://secure-docs-kr.com/quote\n빠른 회신 부탁드립니다.\n", notes="fake quotation request"),
        _s("event@ws-hotel-mice.co.kr", "(광고) 연말 워크숍 대관 특별 할인 안내",
           "연말 워크숍·세미나 장소를 찾으십니까?\n12월 대관 시 최대 40% 할인해 드립니다.\n"
           "무료수신거부: 080-855-1204\n", notes="(광고) mail mentioning 워크숍/세미나"),
        _s("shop@office-mall.kr", "[광고] 사무용품 연말 최대 70% 할인",
           "복사용지, 토너, 사무가구 연말 특가!\n오늘 주문 시 무료 배송.\n수신을 원하지 않으시면 수신거부를 눌러 주세요.\n",
           notes="(광고)"),
        _s("edu@leadership-academy.co.kr", "(광고) 공공기관 리더십 교육 과정 안내",
           "공공기관 관리자 대상 리더십 교육 과정을 안내해 드립니다.\n조기 등록 시 교육비 20% 할인.\n"
           "무료 수신거부 080-123-4567\n", notes="(광고) mail mentioning 교육"),
        _s("news@trade-expo-asia.com", "Exhibit at Asia Trade Expo 2027 - booths selling fast",
           "Dear exhibitor,\n\nBooths for Asia Trade Expo 2027 are almost sold out. Book your booth now with a 15% "
           "early-bird discount.\n\nTo unsubscribe click here.", language="en",
           headers=[("X-Spam-Flag", "YES"), ("X-Spam-Status", "Yes, score=7.9 required=5.0 tests=BAYES_99")],
           notes="SpamAssassin verdict"),
        _s("info@kr-loan-fast.com", "정부지원 저금리 대환대출 승인 안내",
           "고객님은 정부지원 저금리 대환대출 대상자로 선정되었습니다.\n한도 조회: http://kr-loan-fast.com\n",
           headers=[("X-Spam", "Yes"), ("X-Rspamd-Action", "add header"), ("X-Rspamd-Score", "11.40 / 15.00")],
           notes="rspamd verdict"),
        _s("promo@travel-deals.example.com", "Last minute deals to Jeju",
           "Flights and hotels to Jeju from KRW 99,000. Book now.\n",
           language="en", headers=[("X-Spam-Status", "Yes, score=6.2 required=5.0 tests=HTML_IMAGE_ONLY,URIBL_BLACK")],
           notes="SpamAssassin X-Spam-Status only"),
        _s("newsletter@crypto-signal.io", "Daily signals: BTC breakout imminent",
           "Join 40,000 traders receiving our daily signals.\n",
           language="en", headers=[("X-Rspamd-Action", "rewrite subject"), ("X-Rspamd-Score", "9.1")],
           notes="rspamd action only"),
        _s("admin@sonosa.or.kr", "[관리자] 메일함 용량 초과 안내",
           "메일함 용량이 99% 사용되었습니다.\n메일 수신이 중단되기 전에 아래 링크에서 용량을 늘려 주세요.\n"
           "http://sonosa-quota.top/expand\n",
           headers=[("Authentication-Results", "mx.sonosa.or.kr; spf=fail (sender IP is 185.220.101.4) "
                     "smtp.mailfrom=sonosa.or.kr; dkim=none; dmarc=fail (p=none) header.from=sonosa.or.kr")],
           notes="forged own domain, dmarc fail", name="관리자"),
        _s("ceo@sonosa.or.kr", "Urgent request",
           "Are you at your desk? I need you to handle an urgent payment today. Reply with your mobile number.\n",
           language="en",
           headers=[("Reply-To", "ceo.office.sonosa@gmail.com"),
                    ("Authentication-Results", "mx.sonosa.or.kr; spf=softfail smtp.mailfrom=sonosa.or.kr; "
                     "dmarc=fail header.from=sonosa.or.kr")],
           notes="CEO fraud claiming our domain"),
        _s("support@apple-id-billing.com", "Your Apple ID has been locked",
           "Your Apple ID was locked for security reasons. Confirm your billing information within 48 hours to "
           "restore access: https://apple-id-billing.com/unlock\n", language="en", notes="phishing"),
        _s("hometax@nts-refund.kr", "[국세청] 미수령 환급금 안내",
           "고객님께 미수령 환급금 352,000원이 있습니다.\n아래 링크에서 본인인증 후 환급을 신청하세요.\n"
           "http://nts-refund.kr/claim\n", notes="tax refund phishing"),
        _s("deals@global-buyers-network.com", "Buyers from 40 countries want your products",
           "Join our B2B network and get inquiries from verified buyers. Membership fee USD 1,200 per year, "
           "first month free. Click here to register.\n", language="en", notes="B2B marketing"),
        _s("webmaster@sonosa-or-kr.com", "Shared document: 2027 budget.pdf",
           "A document has been shared with you.\n\nOpen document: https://sonosa-or-kr.com/share/2027budget\n\n"
           "This link will expire in 24 hours.\n", language="en", notes="document-share phishing, lookalike domain"),
        _s("contact@wedding-hall-seoul.kr", "[광고] 12월 송년회 대관 예약 받습니다",
           "송년회·기업행사 대관 예약 받습니다. 코스 요리 1인 49,000원부터.\n수신거부 080-222-3344\n", notes="(광고)"),
    ]
    for item in out:
        item["kind"] = "spam"
    return out


def _a(frm, name, subject, body, case_ref=None, language="ko", notes="", in_reply_to=None, headers=()):
    return {"kind": "auto-reply", "from": frm, "from_name": name, "subject": subject, "body": body,
            "case_ref": case_ref, "language": language, "notes": notes, "in_reply_to": in_reply_to,
            "headers": list(headers)}


def auto_replies(rng) -> list[dict]:
    refs = [f"2026-00{n}" for n in (1204, 1211, 1217, 1230, 1236, 1241, 1249, 1255, 1262, 1270, 1281, 1290)]
    ack_subj = "남북교류 물자 반출 관련 문의"
    out = [
        _a("hkang@daesung-logis.co.kr", "강현우", "부재 알림",
           "안녕하세요. 강현우입니다.\n12월 8일까지 해외 출장 중이라 메일 확인이 어렵습니다.\n"
           "급한 용무는 물류팀 02-2233-4410으로 연락 주시기 바랍니다.\n", notes="header-less out-of-office"),
        _a("soyeon.park@hanmail.net", "박소연", f"RE: {ACK.format(ref=refs[0])}",
           "현재 휴가 중입니다. 12월 3일에 복귀하여 확인하겠습니다.\n", case_ref=refs[0],
           notes="header-less out-of-office to our acknowledgement"),
        _a("yjlee@gyeonggi-coop.or.kr", "이영주", f"[자동회신] {ACK.format(ref=refs[1])}",
           "보내주신 메일은 잘 받았습니다.\n현재 교육 참석으로 자리를 비웠으며 11월 28일 이후 회신드리겠습니다.\n",
           case_ref=refs[1]),
        _a("mwjung@bukhan-trade.com", "정민우", "휴가 중입니다 (~12/15)",
           "연차 휴가로 12월 15일까지 부재중입니다.\n복귀 후 순서대로 답장 드리겠습니다.\n"),
        _a("choi.dahye@naver.com", "최다혜", "출장으로 회신이 늦어집니다",
           "안녕하세요, 최다혜입니다.\n이번 주는 지방 출장 중이라 답장이 늦을 수 있습니다.\n양해 부탁드립니다.\n"),
        _a("p.schmidt@friedrich-aid.de", "Paul Schmidt", "Out of Office",
           "Thank you for your email. I am out of the office until 7 December with limited access to email.\n"
           "I will reply after my return. For urgent matters please contact office@friedrich-aid.de.\n",
           language="en"),
        _a("a.turner@pacific-relief.org", "Alice Turner", f"Re: {ACK.format(ref=refs[2])}",
           "Hello,\n\nI am currently travelling and will reply after 10 December.\n\nBest,\nAlice\n",
           case_ref=refs[2], language="en", notes="header-less travelling notice"),
        _a("k.mueller@eurasia-institute.eu", "Karl Mueller", "Away until Monday",
           "I'm away from my desk until Monday, 30 November, and will respond to your message when I return.\n",
           language="en"),
        _a("jbrown@globalhealth-ngo.org", "John Brown", f"Automatic reply: {ACK.format(ref=refs[3])}",
           "I am on annual leave and will be back on 14 December. Your message has not been forwarded.\n",
           case_ref=refs[3], language="en"),
        _a("help@seoul-ngo-center.or.kr", "서울NGO센터", f"Re: {ACK.format(ref=refs[4])}",
           "귀하의 메일이 정상적으로 접수되었습니다.\n담당자 확인 후 회신드리겠습니다.\n"
           "※ 본 메일은 발신 전용으로 회신되지 않습니다.\n", case_ref=refs[4],
           notes="automatic receipt answering our acknowledgement"),
        _a("support@haewon-global.com", "Haewon Global Support", f"[Ticket #48211] Re: {ACK.format(ref=refs[5])}",
           "Thank you for contacting Haewon Global. This is an automated response confirming that we have "
           "received your message. A ticket (#48211) has been created and our team will respond within 2 business days.\n",
           case_ref=refs[5], language="en", notes="ticket auto-receipt answering our acknowledgement"),
        _a("webmaster@gangwon-peace.go.kr", "강원평화센터", f"[접수완료] {ACK.format(ref=refs[6])}",
           "문의하신 내용이 접수되었습니다. 접수번호: GW-2026-1183\n처리 결과는 담당 부서에서 별도로 안내해 드립니다.\n",
           case_ref=refs[6], notes="auto-receipt"),
        _a("sungmin.ko@gmail.com", "고성민", f"Re: {ACK.format(ref=refs[7])}",
           "\n\n-----Original Message-----\n" + ACK_BODY.format(ref=refs[7], subj=ack_subj, day=10),
           case_ref=refs[7], notes="reply quoting our acknowledgement unchanged, no new text"),
        _a("jiwoo_nam@hanmail.net", "남지우", f"회신: {ACK.format(ref=refs[8])}",
           "\n" + _quote(ACK_BODY.format(ref=refs[8], subj="방북증명서 발급 문의", day=11)) + "\n",
           case_ref=refs[8], notes="reply quoting our acknowledgement unchanged (> quotes)"),
        _a("ops@koreanet-shipping.co.kr", "코리아넷해운", f"RE: {ACK.format(ref=refs[9])}",
           "\n\n보낸 사람: 남북교류협력지원협회 <consulting@sonosa.or.kr>\n보낸 날짜: 2026년 11월 24일 월요일 오전 10:12\n"
           f"제목: {ACK.format(ref=refs[9])}\n\n" + ACK_BODY.format(ref=refs[9], subj=ack_subj, day=8),
           case_ref=refs[9], notes="Outlook reply quoting our acknowledgement unchanged"),
        _a("minsu.yoon@kookmin-univ.ac.kr", "윤민수", "[부재중] 연구년으로 메일 확인이 늦습니다",
           "연구년으로 해외 체류 중이라 메일 확인이 늦습니다.\n2027년 2월 이후 답장드리겠습니다.\n"),
        _a("sehee.kwon@jeonbuk-nongup.kr", "권세희", "육아휴직 안내",
           "권세희는 육아휴직 중입니다(2027년 3월 복귀 예정).\n업무 관련 문의는 김재훈 주임(063-220-1123)에게 "
           "연락 주시기 바랍니다.\n", notes="parental-leave notice", headers=[]),
        _a("dsong@unikorea-tour.co.kr", "송다인", "자동 응답: 문의 감사합니다",
           "문의해 주셔서 감사합니다. 영업일 기준 1~2일 이내에 답변드리겠습니다.\n(주말 및 공휴일에는 답변이 늦어질 수 있습니다.)\n",
           notes="auto-acknowledgement"),
        _a("info@noah-foundation.org", "Noah Foundation", "We received your message",
           "Thank you for reaching out to Noah Foundation. This mailbox is monitored Monday to Friday. "
           "We aim to reply within three working days.\n\nThis is an automatically generated message.\n",
           language="en", notes="auto-acknowledgement"),
        _a("h.tanaka@asia-peace.jp", "Hiroshi Tanaka", f"Re: {ACK.format(ref=refs[10])}",
           "I will be out of the office from 1 to 9 December and will have no access to email.\n", case_ref=refs[10],
           language="en"),
        _a("eunji.seo@busan-coop.or.kr", "서은지", f"Re: {ACK.format(ref=refs[11])}",
           "[자동응답] 서은지 주임은 현재 외근 중입니다. 복귀 후 연락드리겠습니다.\n", case_ref=refs[11]),
    ]
    return out


def follow_ups(rng) -> list[dict]:
    refs = ["2026-001301", "2026-001307", "2026-001315", "2026-001322", "2026-001330"]
    items = [
        ("hyejin.oh@naver.com", "오혜진", f"Re: {ACK.format(ref=refs[0])}",
         "접수해 주셔서 감사합니다.\n신청서에 빠뜨린 차량등록증 사본을 추가로 보내드립니다.\n확인 부탁드립니다.\n\n"
         + _quote(ACK_BODY.format(ref=refs[0], subj="차량 운행승인서", day=9)), "ko"),
        ("dkyoon@hanbit-trade.co.kr", "윤대경", f"RE: {ACK.format(ref=refs[1])}",
         "담당자님, 처리 기한이 12월 10일로 되어 있는데 그 전에 받을 수 있을까요?\n출국이 12월 9일입니다.\n\n"
         + _quote(ACK_BODY.format(ref=refs[1], subj="방북증명서", day=10)), "ko"),
        ("maria.lindqvist@stockholm-aid.se", "Maria Lindqvist", f"Re: {ACK.format(ref=refs[2])}",
         "Thank you. Could you also tell me whether the consultation can be held online?\n\nMaria\n\n"
         + _quote(ACK_BODY.format(ref=refs[2], subj="Humanitarian aid consultation", day=11)), "en"),
        ("gaeun.bae@gmail.com", "배가은", f"[접수 {refs[3]}] 추가 자료 보내드립니다",
         "지난번 문의 관련하여 교육 참가자 명단을 추가로 보내드립니다.\n", "ko"),
        ("thmoon@hanbit-trade.co.kr", "문태호", f"회신: {ACK.format(ref=refs[4])}",
         "수고 많으십니다. 전화번호가 바뀌어 알려드립니다. 새 번호는 02-6959-1477입니다.\n\n"
         + _quote(ACK_BODY.format(ref=refs[4], subj="남북 교역 사업 상담 신청", day=12)), "ko"),
    ]
    phones = [None, None, None, None, "02-6959-1477"]
    return [{"kind": "follow-up", "from": f, "from_name": n, "subject": s, "body": b, "case_ref": r,
             "language": lang, "reply_to": f, "headers": [], "phone": ph}
            for (f, n, s, b, lang), r, ph in zip(items, refs, phones)]
