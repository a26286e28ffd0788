"""Run decide_kind over the sisimai set-of-emails corpus and print detection rates.

    .venv/bin/python bench/eval_corpus_kinds.py [/work/shared/corpus/sisimai-set-of-emails] [-v]

Expectations come from the corpus's expected.json (one entry per bounced
recipient as decoded by Sisimai). A message counts as:

- expected auto-reply when every result's reason is "vacation" (RFC 3834 reply);
- expected "automatic, not a bounce" when reasons are "delivered" (successful
  DSN) or "feedback" (ARF abuse report): decide_kind should say auto-reply;
- expected bounce otherwise, including files without an expectation in
  maildir/bsd (every file there is a bounce of some kind);
- expected not-a-bounce for maildir/not (three ordinary mails).

Prints bounce detection rate, failed-recipient / status agreement where
Sisimai gives a status, auto-reply detection, and the misses with -v.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.domain.kinds import SpamRules, decide_kind  # noqa: E402
from intake.domain.mailparse import parse_message  # noqa: E402

OWN = frozenset({"consulting@sonosa.or.kr"})


def expected_kind(rel: str, entry: dict | None) -> str:
    if rel.startswith("maildir/not/"):
        return "not-bounce"
    if entry:
        reasons = {r.get("reason") for r in entry.get("results", [])}
        if reasons == {"vacation"}:
            return "auto-reply"
        if reasons and reasons <= {"delivered", "feedback"}:
            return "automatic"
    return "bounce"


def main(argv: list[str]) -> int:
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    root = Path(args[0] if args else "/work/shared/corpus/sisimai-set-of-emails")
    expected = json.loads((root / "expected.json").read_text()).get("files", {})
    rules = SpamRules.default()
    tally: Counter = Counter()
    misses: list[str] = []
    status_total = status_ok = 0
    recipient_found = 0
    for path in sorted((root / "maildir").rglob("*.eml")):
        rel = path.relative_to(root).as_posix()
        entry = expected.get(rel)
        want = expected_kind(rel, entry)
        try:
            mail = parse_message(path.read_bytes(), datetime.now(timezone.utc))
            d = decide_kind(mail, own_addresses=OWN, spam_rules=rules)
            got = d.kind.value
        except Exception as exc:  # a crash is a miss, and worth seeing
            got, d = f"error:{type(exc).__name__}", None
        tally[(want, got)] += 1
        ok = (
            (want == "bounce" and got == "bounce")
            or (want in ("auto-reply", "automatic") and got == "auto-reply")
            or (want == "not-bounce" and got not in ("bounce",))
        )
        if not ok:
            misses.append(f"{rel}: want {want}, got {got}")
        if want == "bounce" and got == "bounce" and d is not None:
            if d.failed_recipient:
                recipient_found += 1
            statuses = [r.get("status") for r in (entry or {}).get("results", []) if r.get("status")]
            if statuses:
                status_total += 1
                if d.bounce_status and d.bounce_status in statuses:
                    status_ok += 1

    def rate(want: str, goods: tuple[str, ...]) -> tuple[int, int]:
        n = sum(c for (w, _), c in tally.items() if w == want)
        k = sum(c for (w, g), c in tally.items() if w == want and g in goods)
        return k, n

    b_ok, b_n = rate("bounce", ("bounce",))
    a_ok, a_n = rate("auto-reply", ("auto-reply",))
    m_ok, m_n = rate("automatic", ("auto-reply",))
    nb = sum(c for (w, g), c in tally.items() if w == "not-bounce" and g != "bounce")
    nn = sum(c for (w, _), c in tally.items() if w == "not-bounce")
    print(f"bounce detection:            {b_ok}/{b_n} = {b_ok / max(b_n, 1):.1%}")
    print(f"  failed recipient found:    {recipient_found}/{b_ok} = {recipient_found / max(b_ok, 1):.1%}")
    print(f"  status equals Sisimai's:   {status_ok}/{status_total} = {status_ok / max(status_total, 1):.1%}")
    print(f"auto-reply (vacation):       {a_ok}/{a_n} = {a_ok / max(a_n, 1):.1%}")
    print(f"delivered DSN / ARF as auto: {m_ok}/{m_n} = {m_ok / max(m_n, 1):.1%}")
    print(f"maildir/not not bounce:      {nb}/{nn}")
    print("confusion (expected -> got):")
    for (w, g), c in sorted(tally.items()):
        print(f"  {w:>11} -> {g:<12} {c}")
    if verbose:
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
