"""Template limits, errors and the records the store reports (problems, changes, status)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Sequence
from zoneinfo import ZoneInfo

from intake.errors import IntakeError



# --------------------------------------------------------------------------- limits

MAX_OUTPUT_BYTES = 256 * 1024       # per rendered part (subject, text, html)
MAX_RENDER_SECONDS = 2.0            # per rendered part
MAX_VALUE_CHARS = 256 * 1024        # largest string / list a template may build
MAX_RANGE = 10_000                  # largest range()
MAX_ITERATIONS = 200_000            # loop iterations + calls + lookups per part
MAX_INT_BITS = 4096                 # largest integer a template may compute
MAX_TEMPLATE_FILE_BYTES = 256 * 1024
MAX_CONTEXT_DEPTH = 8

SEOUL = ZoneInfo("Asia/Seoul")
LANGUAGES = ("ko", "en")


# --------------------------------------------------------------------------- errors and records


class TemplateError(IntakeError):
    """Base class of template problems intake reports."""


class TemplateRenderError(TemplateError):
    """Rendering failed (undefined variable, refused operation, bad data...)."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        super().__init__(self._text())

    def _text(self) -> str:
        if self.file and self.line:
            return f"{self.file}:{self.line}: {self.message}"
        if self.file:
            return f"{self.file}: {self.message}"
        return self.message

    def located(self, file: str | None, line: int | None) -> "TemplateRenderError":
        if self.file is None and file is not None:
            self.file, self.line = file, line
            self.args = (self._text(),)
        return self


class TemplateLimitError(TemplateRenderError):
    """A size, time or iteration limit was hit (the render was stopped)."""


class TemplateSecurityError(TemplateRenderError):
    """The template tried something the sandbox refuses."""


class CharterError(TemplateRenderError):
    """A customer-facing message would not show the handler's name,
    department, phone and email (customer charter)."""


class UnknownTemplateError(TemplateError, KeyError):
    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class TemplateStoreError(TemplateError):
    """A required template has no good version (raised at start-up)."""

    def __init__(self, problems: Sequence["Problem"]):
        self.problems = list(problems)
        super().__init__("templates not usable:\n" + "\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Problem:
    """One lint problem: ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True)
class TemplateChange:
    """What :meth:`TemplateStore.refresh` did with one template.

    ``status``: ``added`` | ``updated`` (now serving ``version``) |
    ``rejected`` (``problems``; the previous good version, if any, keeps
    serving and ``version`` is that one, or None) | ``removed``.
    """

    name: str
    status: str
    version: str | None
    problems: tuple[Problem, ...] = ()
    language: str = "ko"

    @property
    def label(self) -> str:
        return self.name if self.language == "ko" else f"{self.language}/{self.name}"


@dataclass(frozen=True)
class TemplateStatus:
    """One line of ``intake templates list``."""

    name: str
    language: str
    status: str                      # "ok" | "rejected"
    version: str | None              # version being served (None = none)
    changed_at: datetime | None      # last change seen (file mtime)
    problems: tuple[Problem, ...]
    files: tuple[str, ...]

    @property
    def label(self) -> str:
        return self.name if self.language == "ko" else f"{self.language}/{self.name}"


