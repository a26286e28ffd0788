"""Measure parse_message over the shared corpus and the labelled samples.

Usage: .venv/bin/python bench/parse_corpus.py [--corpus DIR] [--samples DIR] [--show N]

Mails: every file listed in corpus/scan-index.json (the 1,097 mail-like files;
expectation files, licences and body-only fixtures are not in it) plus
samples/*.eml. Expectations read (MANIFEST.md §2): mail-parser, imap_tools,
php-mime-mail-parser, php-imap, flanker, django-helpdesk expected.json, zammad
*.yml (top-level ``subject:``/``from_email:`` scalars, quoted or plain, folded over lines as
YAML does, read without a YAML library), samples/labels.jsonl. Prints files, parsed, crashed, agreement
for subject / from address / attachment names where expected, and msgs/s.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from intake.domain.mailparse import parse_message  # noqa: E402

RECEIVED = datetime(2026, 1, 1, tzinfo=timezone.utc)
HERE = Path(__file__).resolve().parents[1]
#: ../shared beside the checkout; a worktree under /work/wt/<branch> finds it two levels up.
SHARED = next((p / "shared" for p in (HERE.parent, HERE.parent.parent) if (p / "shared").is_dir()),
              HERE.parent / "shared")


@dataclass
class Expect:
    subject: str | None = None
    subject_prefix: str | None = None
    from_address: str | None = None
    attachments: list[str] | None = None


@dataclass
class Tally:
    checked: int = 0
    agreed: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, ok: bool, what: str) -> None:
        self.checked += 1
        self.agreed += ok
        if not ok:
            self.misses.append(what)

    def pct(self) -> str:
        return f"{100.0 * self.agreed / self.checked:.1f}% ({self.agreed}/{self.checked})" if self.checked else "n/a"


#: Subject expectations that are themselves wrong: the decoder gives what the sender meant, the other
#: parser did not. They stay in the agreement figure (kept honest) and are listed apart with the reason.
DISPUTED_SUBJECTS = {
    "imap_tools/messages/rfc2822/example14.eml":
        "RFC 2047 §6.2: whitespace between plain text ('TEST') and an encoded word is kept; imap_tools drops it",
    "imap_tools/messages/error_emails/invalid_subject_characters.eml":
        "raw 8-bit Latin-1 ('Forma\\xe7\\xe3o'): the sender meant 'Formação'; imap_tools drops the bytes",
    "imap_tools/messages/plain_emails/raw_email_incorrect_header.eml":
        "a header line with a space in its name ('quite Delivered-To:') ends the stdlib's header block; "
        "the Subject below it is still the sender's",
    "zammad/mail018.box":
        "an encoded word with spaces inside (=?unicode-1-1-utf-7?Q?+ANw-bermittlungsstatus ...?=): the sender "
        "meant 'Übermittlungsstatus'; zammad leaves it undecoded",
}


def norm(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


def _files(corpus: Path, name: str) -> dict:
    path = corpus / name / "expected.json"
    if not path.exists():
        return {}
    return {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).get("files", {}).items()
            if not k.startswith("_") and isinstance(v, dict)}


def _mail_parser(corpus: Path) -> dict[str, Expect]:
    return {f"mail-parser/{k}": Expect(subject=v.get("subject"), from_address=v.get("from_address"))
            for k, v in _files(corpus, "mail-parser").items()}


def _imap_tools(corpus: Path) -> dict[str, Expect]:
    return {f"imap_tools/{k}": Expect(
        subject=v.get("subject"), from_address=v.get("from_") or None,
        attachments=[a.get("filename") or "" for a in v.get("attachments", [])])
        for k, v in _files(corpus, "imap_tools").items()}


def _php_mmp(corpus: Path) -> dict[str, Expect]:
    out = {}
    for k, v in _files(corpus, "php-mime-mail-parser").items():
        senders = v.get("from") or []
        out[f"php-mime-mail-parser/{k}"] = Expect(
            subject=v.get("subject"),
            from_address=senders[0].get("address") if senders else None)
    return out


def _simple(corpus: Path, name: str, subject_key: str = "subject") -> dict[str, Expect]:
    out = {}
    for k, v in _files(corpus, name).items():
        out[f"{name}/{k}"] = Expect(subject=v.get(subject_key), subject_prefix=v.get("title_startswith"),
                                    from_address=v.get("from_mail"))
    return out


_YML_KEY = re.compile(r"^(subject|from_email): ?(.*(?:\n[ \t].*)*)", re.M)   # the value and its continuation lines
_YML_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
                "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
                "L": "\u2028", "P": "\u2029"}
_YML_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.S)


def _yml_fold(body: str, double: bool) -> str:
    """YAML flow-scalar line folding: a line break between lines is one space, n empty lines are n
    newlines, indentation and trailing blanks go; in double quotes a backslash at a line end joins."""
    lines = body.split("\n")
    result, empties, join = lines[0].rstrip(" \t") if len(lines) > 1 else lines[0], 0, False
    if len(lines) > 1 and double and _odd_backslashes(result):
        result, join = (result + " ", False) if result != lines[0] else (result[:-1], True)
    for i, raw in enumerate(lines[1:], 1):
        line = raw.lstrip(" \t") if i == len(lines) - 1 else raw.strip(" \t")
        if i < len(lines) - 1 and double and _odd_backslashes(line):
            line, next_join = (line + " ", False) if line != raw.lstrip(" \t") else (line[:-1], True)
        else:
            next_join = False
        if line == "" and i < len(lines) - 1 and not join:
            empties += 1
            continue
        result += line if join else ("\n" * empties or " ") + line
        empties, join = 0, next_join
    return result


def _odd_backslashes(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def _yml_scalar(value: str) -> str | None:
    """A top-level scalar as YAML reads it: plain, single- or double-quoted, folded over lines
    (zammad mail049's subject spans two lines). Block scalars and tags are not needed here."""
    value = value.strip()
    if len(value) > 1 and value[0] == value[-1] == "'":
        return _yml_fold(value[1:-1], False).replace("''", "'")
    if len(value) > 1 and value[0] == value[-1] == '"':
        def unescape(m: re.Match) -> str:
            code = m.group(1)
            return chr(int(code[1:], 16)) if code[0] in "xuU" and len(code) > 1 else _YML_ESCAPES.get(code, code)
        return _YML_ESCAPE.sub(unescape, _yml_fold(value[1:-1], True))
    if value.startswith(("!", "|", ">", "&", "*")) or not value:
        return None  # block scalars and tags: not worth a YAML parser here
    return _yml_fold(value, False)


def _zammad(corpus: Path) -> dict[str, Expect]:
    out = {}
    for yml in sorted((corpus / "zammad").glob("mail*.yml")):
        fields = {k: _yml_scalar(v) for k, v in _YML_KEY.findall(yml.read_text(encoding="utf-8", errors="replace"))}
        out[f"zammad/{yml.stem}.box"] = Expect(subject=fields.get("subject"), from_address=fields.get("from_email"))
    return out


def corpus_expectations(corpus: Path) -> dict[str, Expect]:
    found: dict[str, Expect] = {}
    found.update(_mail_parser(corpus))
    found.update(_imap_tools(corpus))
    found.update(_php_mmp(corpus))
    found.update(_simple(corpus, "php-imap"))
    found.update(_simple(corpus, "flanker"))
    found.update(_simple(corpus, "django-helpdesk", "title"))
    found.update(_zammad(corpus))
    return found


def sample_expectations(samples: Path) -> dict[str, Expect]:
    labels = samples / "labels.jsonl"
    if not labels.exists():
        return {}
    out = {}
    for line in labels.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            out[str(samples / item["file"])] = Expect(item["subject"], None, item["from_address"], item["attachments"])
    return out


def corpus_files(corpus: Path) -> list[Path]:
    index = corpus / "scan-index.json"
    names = json.loads(index.read_text(encoding="utf-8"))["files"].keys()
    return [corpus / name for name in sorted(names) if (corpus / name).is_file()]


def compare(mail, expect: Expect, key: str, tallies: dict[str, Tally]) -> None:
    if expect.subject is not None:
        tallies["subject"].add(norm(mail.subject) == norm(expect.subject),
                               f"{key}: got {mail.subject!r} want {expect.subject!r}")
    elif expect.subject_prefix is not None:
        tallies["subject"].add(norm(mail.subject).startswith(norm(expect.subject_prefix)), f"{key}: prefix")
    if expect.from_address:
        tallies["from"].add(mail.from_address == expect.from_address.lower(),
                            f"{key}: got {mail.from_address!r} want {expect.from_address!r}")
    if expect.attachments is not None:
        got = [a.original_filename for a in mail.attachments
               if a.original_filename or not a.content_type.startswith("message/")]
        tallies["attachment names"].add(sorted(got) == sorted(expect.attachments),
                                        f"{key}: got {got} want {expect.attachments}")


def run(paths: list[tuple[str, Path]], expectations: dict[str, Expect], show: int) -> None:
    tallies = {name: Tally() for name in ("subject", "from", "attachment names")}
    crashed: list[str] = []
    parsed = 0
    total_bytes = 0
    started = time.perf_counter()
    for key, path in paths:
        raw = path.read_bytes()
        total_bytes += len(raw)
        try:
            mail = parse_message(raw, RECEIVED)
        except Exception:
            crashed.append(f"{key}: {traceback.format_exc(limit=3)}")
            continue
        parsed += 1
        if key in expectations:
            compare(mail, expectations[key], key, tallies)
    elapsed = time.perf_counter() - started
    print(f"files: {len(paths)}  parsed: {parsed}  crashed: {len(crashed)}")
    for name, tally in tallies.items():
        print(f"{name} agreement: {tally.pct()}")
    disputed = [m for m in tallies["subject"].misses if m.split(":")[0] in DISPUTED_SUBJECTS]
    if disputed:
        subject = tallies["subject"]
        print(f"  of the subject misses, {len(disputed)} are wrong expectations (DISPUTED_SUBJECTS); without them "
              f"{100.0 * subject.agreed / (subject.checked - len(disputed)):.1f}% "
              f"({subject.agreed}/{subject.checked - len(disputed)})")
    print(f"time: {elapsed:.2f}s  msgs/s: {len(paths) / elapsed:.0f}  MB/s: {total_bytes / 1e6 / elapsed:.1f}")
    for line in crashed[:show]:
        print("CRASH", line)
    for name, tally in tallies.items():
        for line in tally.misses[:show]:
            print(f"MISS {name}: {line}"[:300])
            if name == "subject" and line.split(":")[0] in DISPUTED_SUBJECTS:
                print(f"  disputed: {DISPUTED_SUBJECTS[line.split(':')[0]]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=SHARED / "corpus")
    parser.add_argument("--samples", type=Path, default=SHARED / "samples")
    parser.add_argument("--show", type=int, default=10, help="misses/crashes to list per check")
    args = parser.parse_args(argv)
    if args.corpus.exists():
        print(f"== corpus {args.corpus}")
        corpus = args.corpus.resolve()
        paths = [(str(p.relative_to(corpus)), p) for p in corpus_files(corpus)]
        run(paths, corpus_expectations(corpus), args.show)
    if args.samples.exists():
        print(f"== samples {args.samples}")
        samples = args.samples.resolve()
        paths = [(str(p), p) for p in sorted(samples.glob("*.eml"))]
        run(paths, sample_expectations(samples), args.show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
