"""Staff replies to task mail: the token that proves a reply answers a task, and the commands in it.

Pure core. A handler works a case by replying to its task mail:

- a plain reply: its own (unquoted) text is the answer for the customer;
- lines that start with ``#command``: ``#hold <reason>``, ``#resume``,
  ``#extend <YYYY-MM-DD> <reason>``, ``#reassign <staff-id|department-id> [reason]``,
  ``#close [note]``, ``#called [written|서면] [note]``, ``#approved``,
  ``#error <what went wrong>``, ``#note <text>``, ``#spam [reason]`` (also ``#스팸``: the case is
  closed as spam, nothing more goes to the sender, and the text model learns from it).

A reply that holds any command line is a command mail: its other text is not
sent to the customer. One malformed or unknown command makes the whole mail
an error (nothing is done): staff get an error reply explaining it.

The task token travels two ways, so it survives mail servers without
sub-addressing: in the Reply-To address (``consulting+<token>@…``) and as a
``intake-token:<token>`` line at the foot of every staff mail, which replies quote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from intake.domain.contacts import split_quoted
from intake.domain.records import ParsedMail

TOKEN_RE = r"[0-9a-f]{16}\.[0-9a-f]{6}"
_TOKEN_IN_TEXT = re.compile(r"intake-token:\s*(" + TOKEN_RE + r")", re.IGNORECASE)
_TOKEN_IN_ADDRESS = re.compile(r"^[^@+]+\+(" + TOKEN_RE + r")@", re.IGNORECASE)

COMMANDS = ("hold", "resume", "extend", "reassign", "close", "called", "approved", "error", "note", "decision",
            "spam")
#: Korean command words staff may type instead of the English ones.
KOREAN_COMMANDS = {"스팸": "spam"}
#: ``#decision`` outcomes of a suggestion's review (제안 심사), with the English words staff may type.
DECISION_WORDS = {"채택": "채택", "불채택": "불채택", "adopted": "채택", "adopt": "채택", "rejected": "불채택",
                  "reject": "불채택"}
_COMMAND_LINE = re.compile(r"^\s*#([A-Za-z][A-Za-z-]*|" + "|".join(KOREAN_COMMANDS) + r")\b[ \t]*(.*)$")
_WRITTEN_WORDS = ("written", "서면", "letter", "문서")


@dataclass(frozen=True)
class Command:
    name: str
    argument: str = ""              # the rest of the line (reason, note, target)
    date: date | None = None        # #extend
    target: str | None = None       # #reassign
    written: bool = False           # #called written
    outcome: str | None = None      # #decision: 채택 | 불채택


@dataclass(frozen=True)
class StaffReply:
    commands: tuple[Command, ...]
    answer: str                     # the handler's own text (plain reply), quotes and token line removed
    errors: tuple[str, ...]         # one line per bad command (English, for the log and the error mail)

    @property
    def is_command_mail(self) -> bool:
        return bool(self.commands or self.errors)


def task_footer(token: str) -> str:
    """The line appended to every staff mail about a case; replies quote it."""
    return f"intake-token:{token}"


def staff_footer(token: str) -> str:
    """How to work the case by replying (Korean, for staff), ending with the token line."""
    return (
        "──────────────────────────────\n"
        "이 메일에 회신하여 업무를 처리하실 수 있습니다.\n"
        "  - 회신 본문은 서명과 함께 민원인에게 답변으로 전달됩니다.\n"
        "  - 명령은 한 줄에 하나씩 적어 주십시오: #hold 사유 / #resume / #extend YYYY-MM-DD 사유 /\n"
        "    #reassign 직원ID|부서ID 사유 / #close 메모 / #called [서면] 메모 / #approved /\n"
        "    #error 내용 / #note 메모 / #spam(#스팸) 사유\n"
        "    (명령이 있는 회신은 민원인에게 전달되지 않습니다)\n"
        f"{task_footer(token)}"
    )


def reply_address(intake_address: str, token: str) -> str:
    local, _, domain = intake_address.partition("@")
    return f"{local}+{token}@{domain}"


def tokens_in(mail: ParsedMail) -> tuple[str, ...]:
    """Task tokens a reply carries: in a recipient sub-address, then in the (quoted) text."""
    found: list[str] = []
    recipients = list(mail.to) + list(mail.cc)
    for name in ("delivered-to", "x-original-to", "envelope-to"):
        recipients += list(mail.header_all(name))
    for addr in recipients:
        m = _TOKEN_IN_ADDRESS.match((addr or "").strip().lower())
        if m and m.group(1) not in found:
            found.append(m.group(1))
    for m in _TOKEN_IN_TEXT.finditer(mail.text or ""):
        tok = m.group(1).lower()
        if tok not in found:
            found.append(tok)
    return tuple(found)


def own_text(text: str) -> str:
    """The writer's own part of a reply: quoted blocks, '>' lines and token lines removed."""
    blocks = split_quoted(text or "")
    own = blocks[0][1] if blocks and blocks[0][0] == "own" else ""
    lines = [l for l in own.splitlines() if not _TOKEN_IN_TEXT.search(l)]
    return "\n".join(lines).strip()


def parse_command(name: str, rest: str) -> Command:
    """One command line; raises ValueError with a staff-readable reason."""
    name = KOREAN_COMMANDS.get(name, name.lower())
    rest = rest.strip()
    if name not in COMMANDS:
        raise ValueError(f"unknown command #{name} (known: {', '.join('#' + c for c in COMMANDS)})")
    if name == "hold":
        if not rest:
            raise ValueError("#hold needs a reason, e.g. '#hold 보완 서류 요청'")
        return Command(name, rest)
    if name in ("resume", "approved"):
        if rest:
            raise ValueError(f"#{name} takes no argument (got {rest[:40]!r})")
        return Command(name)
    if name == "extend":
        parts = rest.split(None, 1)
        if len(parts) < 2:
            raise ValueError("#extend needs a date and a reason, e.g. '#extend 2026-12-04 관계기관 협의'")
        try:
            new_date = date.fromisoformat(parts[0])
        except ValueError:
            raise ValueError(f"#extend: {parts[0]!r} is not a date (YYYY-MM-DD)") from None
        return Command(name, parts[1].strip(), date=new_date)
    if name == "reassign":
        parts = rest.split(None, 1)
        if not parts:
            raise ValueError("#reassign needs a staff id or a department id")
        return Command(name, parts[1].strip() if len(parts) > 1 else "", target=parts[0])
    if name == "called":
        first, _, tail = rest.partition(" ")
        if first.lower() in _WRITTEN_WORDS:
            return Command(name, tail.strip(), written=True)
        return Command(name, rest)
    if name == "error":
        if not rest:
            raise ValueError("#error needs a description of what went wrong")
        return Command(name, rest)
    if name == "note":
        if not rest:
            raise ValueError("#note needs a text")
        return Command(name, rest)
    if name == "decision":
        return parse_decision(rest)
    return Command(name, rest)   # close


def parse_decision(rest: str) -> Command:
    """``#decision 채택|불채택 <reason>``: a suggestion's review outcome, told to the customer."""
    word, _, reason = rest.strip().partition(" ")
    outcome = DECISION_WORDS.get(word.lower())
    if outcome is None or not reason.strip():
        raise ValueError("#decision needs 채택 or 불채택 and a reason, e.g. '#decision 채택 다음 달부터 반영합니다'")
    return Command("decision", reason.strip(), outcome=outcome)


def parse_staff_reply(text: str) -> StaffReply:
    own = own_text(text)
    commands: list[Command] = []
    errors: list[str] = []
    answer_lines: list[str] = []
    for line in own.splitlines():
        m = _COMMAND_LINE.match(line)
        if not m:
            answer_lines.append(line)
            continue
        try:
            commands.append(parse_command(m.group(1), m.group(2)))
        except ValueError as exc:
            errors.append(str(exc))
    return StaffReply(tuple(commands), "\n".join(answer_lines).strip(), tuple(errors))
