"""The live-reloading store: start-up, edits, versions (intake.adapters.templates.store)."""

from __future__ import annotations

import shutil

import pytest

from intake.adapters import templates as T
from intake.adapters.templates import TemplateStore, TemplateStoreError
from intake.domain import replies
from tests.adapters.templates.support import SHIPPED, edit, strip_phone


# --------------------------------------------------------------------------- store: start-up and live edits


def test_constructor_raises_when_a_required_template_never_had_a_good_version(folder):
    path = folder / "reply-relay.txt.j2"
    path.write_text(strip_phone(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(TemplateStoreError) as info:
        TemplateStore(folder)
    assert "reply-relay.txt.j2" in str(info.value)
    (folder / "letter.txt.j2").unlink()
    with pytest.raises(TemplateStoreError, match="letter.txt.j2:1: required template is missing"):
        TemplateStore(folder)
    relaxed = TemplateStore(folder, require_all=False)
    assert {s.label: s.status for s in relaxed.status()}["reply-relay"] == "rejected"


def test_refresh_without_changes_reports_nothing(store):
    assert store.refresh() == []


@pytest.mark.parametrize("breakage", ["syntax", "undeclared", "phone"])
def test_broken_edit_is_rejected_and_last_good_version_keeps_serving(store, folder, breakage):
    path = folder / "acknowledgement.txt.j2"
    good = path.read_text(encoding="utf-8")
    ctx = replies.example_context("acknowledgement")
    before = store.render("acknowledgement", ctx)
    broken = {
        "syntax": good.replace("{{ case.ref }}\n", "{% if case.ref %}\n", 1),
        "undeclared": good + "{{ customer_secret }}\n",
        "phone": strip_phone(good),
    }[breakage]
    edit(path, broken)

    changes = store.refresh()
    assert len(changes) == 1
    change = changes[0]
    assert (change.name, change.language, change.status) == ("acknowledgement", "ko", "rejected")
    assert change.version == before.template_version
    assert change.problems and all(p.file == "templates/acknowledgement.txt.j2"
                                   for p in change.problems)
    after = store.render("acknowledgement", ctx)
    assert after == before
    row = {s.label: s for s in store.status()}["acknowledgement"]
    assert row.status == "rejected" and row.problems == change.problems
    assert row.version == before.template_version
    assert store.refresh() == []              # reported once, not on every refresh

    edit(path, good.replace("감사합니다.", "고맙습니다."))
    (fixed,) = store.refresh()
    assert fixed.status == "updated" and fixed.problems == ()
    assert fixed.version != before.template_version
    new = store.render("acknowledgement", ctx)
    assert "고맙습니다." in new.text and new.template_version == fixed.version
    assert {s.label: s.status for s in store.status()}["acknowledgement"] == "ok"


def test_version_covers_every_file_used(store, folder):
    v1 = store.version("acknowledgement")
    html_path = folder / "acknowledgement.html.j2"
    edit(html_path, html_path.read_text(encoding="utf-8").replace("<p>감사합니다.", "<p>고맙습니다."))
    (change,) = store.refresh()
    assert change.status == "updated" and change.version != v1
    text_only = folder / "reminder.txt.j2"
    v2 = store.version("reminder")
    edit(text_only, text_only.read_text(encoding="utf-8"))   # touched, same content
    assert store.refresh() == [] and store.version("reminder") == v2


def test_added_and_removed_english_variant(store, folder):
    src = folder / "en" / "reply-relay.txt.j2"
    src.unlink()
    (change,) = store.refresh()
    assert (change.label, change.status) == ("en/reply-relay", "removed")
    ctx = replies.example_context("reply-relay", "en")
    assert "안녕하십니까" in store.render("reply-relay", ctx, "en").text   # Korean fallback
    shutil.copy(SHIPPED / "en" / "reply-relay.txt.j2", src)
    (change,) = store.refresh()
    assert (change.label, change.status) == ("en/reply-relay", "added")
    assert store.render("reply-relay", ctx, "en").text.startswith("Dear Jane Doe")


def test_removed_required_template_keeps_serving(store, folder):
    version = store.version("letter")
    (folder / "letter.txt.j2").unlink()
    (change,) = store.refresh()
    assert change.status == "rejected" and change.version == version
    assert "removed" in change.problems[0].message
    store.render("letter", replies.example_context("letter"))


def test_unknown_template_name(store):
    with pytest.raises(T.UnknownTemplateError):
        store.render("nope", {})
