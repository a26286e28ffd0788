"""Folder scanning, lint and the live-reloading :class:`TemplateStore`."""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable

from intake.domain import replies
from intake.domain.records import RenderedMail

from intake.adapters.templates.errors import (
    LANGUAGES,
    Problem,
    SEOUL,
    TemplateChange,
    TemplateStatus,
    TemplateStoreError,
    UnknownTemplateError,
)
from intake.adapters.templates.units import Environments, Unit, UnitBuilder, render_unit

# --------------------------------------------------------------------------- folder scanning

_FILE_RE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*)\.(?P<part>txt|html)\.j2$")


def _unit_key(folder: Path, path: Path) -> tuple[str, str, str] | None:
    """(name, language, part) for a template file, or None when not a template."""
    match = _FILE_RE.match(path.name)
    if not match:
        return None
    language = "ko" if path.parent == folder else path.parent.name
    return match.group("name"), language, match.group("part")


def _list_files(folder: Path) -> list[Path]:
    found = []
    for sub in [folder] + [folder / lang for lang in LANGUAGES if lang != "ko"]:
        if sub.is_dir():
            found += [p for p in sorted(sub.glob("*.j2")) if p.is_file()]
    return found


def _rel(folder: Path, path: Path) -> str:
    """``templates/en/acknowledgement.txt.j2``: shown in problems and tracebacks."""
    try:
        return str(Path(folder.name or str(folder)) / path.relative_to(folder))
    except ValueError:
        return str(path)


def lint_folder(folder: str | Path, names: Iterable[str] | None = None) -> list[Problem]:
    """Lint the templates on disk (what ``intake templates lint`` runs).

    ``names`` limits the check to those messages (e.g. ``acknowledgement`` or
    ``en/acknowledgement``); a required Korean text part that is missing is a
    problem.
    """
    folder = Path(folder)
    wanted = set(names or ())
    envs = Environments()
    grouped: dict[tuple[str, str], dict[str, tuple[str, bytes]]] = {}
    problems: list[Problem] = []
    if not folder.is_dir():
        return [Problem(str(folder), 1, "templates folder does not exist")]
    for path in _list_files(folder):
        key = _unit_key(folder, path)
        rel = _rel(folder, path)
        if key is None:
            if not wanted:
                problems.append(Problem(rel, 1, "file name must be <message>.txt.j2 or "
                                                "<message>.html.j2"))
            continue
        grouped.setdefault(key[:2], {})[key[2]] = (rel, path.read_bytes())
    for name in replies.MESSAGE_NAMES:
        grouped.setdefault((name, "ko"), {})
    for (name, language), parts in sorted(grouped.items()):
        label = name if language == "ko" else f"{language}/{name}"
        if wanted and label not in wanted and name not in wanted:
            continue
        if not parts:
            problems.append(Problem(_rel(folder, folder / f"{name}.txt.j2"), 1,
                                    "required template is missing"))
            continue
        _, unit_problems = UnitBuilder(envs, name, language, parts.get("txt"),
                                       parts.get("html")).build()
        problems += unit_problems
    if wanted:
        known = {n for n in replies.MESSAGE_NAMES} | {f"{lang}/{n}" for n in replies.MESSAGE_NAMES
                                                     for lang in LANGUAGES}
        for label in sorted(wanted - known):
            problems.append(Problem(str(folder), 1, f"unknown template {label!r}"))
    return problems


# --------------------------------------------------------------------------- store


@dataclass
class _FileSeen:
    mtime_ns: int
    size: int
    sha: str
    data: bytes


@dataclass
class _State:
    status: str = "ok"
    problems: tuple[Problem, ...] = ()
    changed_at: datetime | None = None
    files: tuple[str, ...] = ()


class TemplateStore:
    """All templates of one folder, linted, versioned and live-reloadable.

    ``TemplateStore(folder)`` loads and lints everything; it raises
    :class:`TemplateStoreError` when a required (Korean) template has no good
    version, unless ``require_all=False`` (used by the admin commands).
    """

    def __init__(self, folder: str | Path, *, require_all: bool = True):
        self.folder = Path(folder)
        self._envs = Environments()
        self._lock = threading.RLock()
        self._files: dict[Path, _FileSeen] = {}
        self._units: dict[tuple[str, str], Unit] = {}
        self._states: dict[tuple[str, str], _State] = {}
        self.startup_changes = self.refresh()
        if require_all:
            problems = []
            for name in replies.MESSAGE_NAMES:
                if (name, "ko") in self._units:
                    continue
                state = self._states.get((name, "ko"))
                if state and state.problems:
                    problems += state.problems
                else:
                    problems.append(Problem(_rel(self.folder, self.folder / f"{name}.txt.j2"),
                                            1, "required template is missing"))
            if problems:
                raise TemplateStoreError(problems)

    # -- reading ---------------------------------------------------------------
    def _scan(self) -> tuple[dict[Path, _FileSeen], set[tuple[str, str]]]:
        """Current files and the units whose files changed since last scan."""
        current: dict[Path, _FileSeen] = {}
        changed: set[tuple[str, str]] = set()
        for path in _list_files(self.folder):
            try:
                st = path.stat()
                old = self._files.get(path)
                if old and old.mtime_ns == st.st_mtime_ns and old.size == st.st_size:
                    current[path] = old
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            seen = _FileSeen(st.st_mtime_ns, st.st_size, hashlib.sha256(data).hexdigest(), data)
            current[path] = seen
            if old is None or old.sha != seen.sha:
                key = _unit_key(self.folder, path)
                changed.add(key[:2] if key else ("?" + path.name, "ko"))
        for path in self._files:
            if path not in current:
                key = _unit_key(self.folder, path)
                changed.add(key[:2] if key else ("?" + path.name, "ko"))
        return current, changed

    def _unit_files(self, files: dict[Path, _FileSeen], name: str, language: str):
        sub = self.folder if language == "ko" else self.folder / language
        out = {}
        for part in ("txt", "html"):
            path = sub / f"{name}.{part}.j2"
            if path in files:
                out[part] = (_rel(self.folder, path), files[path].data, files[path].mtime_ns)
        return out

    def refresh(self) -> list[TemplateChange]:
        """Re-read changed files; lint changed templates and use them only when
        they pass.  Returns what changed (each change is reported once)."""
        with self._lock:
            files, changed = self._scan()
            changes: list[TemplateChange] = []
            for name, language in sorted(changed):
                if name.startswith("?"):
                    continue  # not a template file name; reported by lint
                changes.append(self._reload(files, name, language))
            self._files = files
            return changes

    def _reload(self, files, name: str, language: str) -> TemplateChange:
        key = (name, language)
        parts = self._unit_files(files, name, language)
        old = self._units.get(key)
        state = self._states.setdefault(key, _State())
        mtimes = [m for _, _, m in parts.values()]
        state.changed_at = (datetime.fromtimestamp(max(mtimes) / 1e9, tz=SEOUL) if mtimes
                            else datetime.now(tz=SEOUL))
        if not parts:
            if language != "ko" or name not in replies.MESSAGES:
                self._units.pop(key, None)
                self._states.pop(key, None)
                return TemplateChange(name, "removed", None, (), language)
            problem = Problem(_rel(self.folder, self.folder / f"{name}.txt.j2"), 1,
                              "required template file was removed"
                              + ("; the last good version keeps serving" if old else ""))
            state.status, state.problems = "rejected", (problem,)
            return TemplateChange(name, "rejected", old.version if old else None,
                                  (problem,), language)
        txt = parts.get("txt")
        html = parts.get("html")
        unit, problems = UnitBuilder(self._envs, name, language,
                                     txt[:2] if txt else None,
                                     html[:2] if html else None).build()
        state.files = tuple(p[0] for p in parts.values())
        if unit is None:
            state.status, state.problems = "rejected", tuple(problems)
            return TemplateChange(name, "rejected", old.version if old else None,
                                  tuple(problems), language)
        self._units[key] = unit
        state.status, state.problems = "ok", ()
        return TemplateChange(name, "updated" if old else "added", unit.version, (), language)

    # -- queries -----------------------------------------------------------------
    def status(self) -> list[TemplateStatus]:
        with self._lock:
            keys = sorted(set(self._states) | set(self._units),
                          key=lambda k: (k[1] != "ko", k[1], k[0]))
            out = []
            for key in keys:
                state = self._states.get(key, _State())
                unit = self._units.get(key)
                out.append(TemplateStatus(
                    name=key[0], language=key[1], status=state.status,
                    version=unit.version if unit else None, changed_at=state.changed_at,
                    problems=state.problems, files=state.files))
            return out

    def names(self) -> list[str]:
        with self._lock:
            return sorted({name for name, _ in self._units})

    def version(self, name: str, language: str = "ko") -> str | None:
        with self._lock:
            unit = self._units.get((name, language))
            return unit.version if unit else None

    def _unit(self, name: str, language: str) -> Unit:
        with self._lock:
            if language != "ko":
                unit = self._units.get((name, language))
                if unit is not None:
                    return unit
            unit = self._units.get((name, "ko"))
        if unit is None:
            raise UnknownTemplateError(f"no usable template {name!r}")
        return unit

    def render(self, name: str, context: dict, language: str = "ko") -> RenderedMail:
        """Render message ``name``.  ``language="en"`` uses ``templates/en/``
        when that variant exists (otherwise Korean).  Raises
        :class:`TemplateRenderError` (incl. :class:`CharterError`,
        :class:`TemplateLimitError`) or :class:`UnknownTemplateError`."""
        return render_unit(self._unit(name, language), context)

    def source(self, name: str, language: str = "ko") -> str:
        """The exact text of the version now serving (recorded with every mail it renders)."""
        unit = self._unit(name, language)
        return "\n".join(f"=== {Path(f).name}\n{content}" for f, content in unit.sources)

    def lint(self, names: Iterable[str] | None = None) -> list[Problem]:
        """Lint the files currently on disk (does not change what is served)."""
        return lint_folder(self.folder, names)


