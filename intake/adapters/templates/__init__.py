"""Message templates: store, sandboxed rendering, lint, versions, docs.

Admins (not developers) edit the files under ``templates/`` on a running
system, so everything here assumes the template text is untrusted:

* Rendering uses :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` with
  ``StrictUndefined``.  Templates receive plain data only (dicts, lists, str,
  int, float, bool, date, datetime, None) -- anything else in a context is
  refused before rendering.
* Only a short allow-list of methods may be called (``str.upper``,
  ``dict.items``...), only a curated set of filters exists, ``include`` /
  ``extends`` / ``import`` / recursive loops / ``autoescape`` blocks are refused
  at compile time.
* Resources are bounded: ``*``, ``**``, ``+``, ``~``, ``replace`` and ``join``
  refuse results over :data:`MAX_VALUE_CHARS`; ``range`` is capped; every loop
  iteration, call, attribute lookup and output chunk checks a per-render
  deadline (:data:`MAX_RENDER_SECONDS`) and an iteration budget; output is
  streamed through ``generate()`` with a running size check
  (:data:`MAX_OUTPUT_BYTES`).  Violations raise :class:`TemplateLimitError`.
* Text parts are rendered with autoescape OFF (never ``&lt;`` in a text mail);
  HTML parts with autoescape ON.

:class:`TemplateStore` loads and lints every template at start-up, serves the
last good version of each, and :meth:`TemplateStore.refresh` picks up edits:
a changed template is linted first and REJECTED if it fails, while the last
good version keeps serving.

``python -m intake.adapters.templates --write-docs docs/templates.md``
regenerates the admin documentation from the schema in
:mod:`intake.domain.replies`.

The package is split along its seams; import from here, the parts are:

* :mod:`.errors` -- limits, exceptions, and the records the store reports;
* :mod:`.filters` -- the per-render budget and the curated filters;
* :mod:`.sandbox` -- the hardened environment, compile and bounded render;
* :mod:`.units` -- front matter, compiling and linting one message/language;
* :mod:`.store` -- folder scanning, :func:`lint_folder`, :class:`TemplateStore`;
* :mod:`.docs` -- the generated admin reference and its command line.
"""

from intake.adapters.templates.errors import (
    MAX_OUTPUT_BYTES,
    MAX_RENDER_SECONDS,
    MAX_VALUE_CHARS,
    MAX_RANGE,
    MAX_ITERATIONS,
    MAX_INT_BITS,
    MAX_TEMPLATE_FILE_BYTES,
    MAX_CONTEXT_DEPTH,
    SEOUL,
    LANGUAGES,
    TemplateError,
    TemplateRenderError,
    TemplateLimitError,
    TemplateSecurityError,
    CharterError,
    UnknownTemplateError,
    TemplateStoreError,
    Problem,
    TemplateChange,
    TemplateStatus,
)
from intake.adapters.templates.filters import (
    Budget,
    RENDER_BUDGET,
    tick,
    check_size,
    kdate,
    kdatetime,
    edate,
    edatetime,
    phone,
    SAFE_JINJA_FILTERS,
    CUSTOM_FILTERS,
    filters_for,
    bounded_range,
)
from intake.adapters.templates.sandbox import (
    DICT_METHODS,
    SafeTemplateEnvironment,
    compile_template,
    render_part,
    check_plain,
    clean_subject,
    tidy_text,
)
from intake.adapters.templates.units import (
    FrontMatter,
    parse_front_matter,
    Unit,
    Environments,
    template_version,
    UnitBuilder,
    render_unit,
)
from intake.adapters.templates.store import (
    lint_folder,
    TemplateStore,
)
from intake.adapters.templates.docs import (
    render_docs,
    main,
)

__all__ = [
    "MAX_OUTPUT_BYTES",
    "MAX_RENDER_SECONDS",
    "MAX_VALUE_CHARS",
    "MAX_RANGE",
    "MAX_ITERATIONS",
    "MAX_INT_BITS",
    "MAX_TEMPLATE_FILE_BYTES",
    "MAX_CONTEXT_DEPTH",
    "SEOUL",
    "LANGUAGES",
    "TemplateError",
    "TemplateRenderError",
    "TemplateLimitError",
    "TemplateSecurityError",
    "CharterError",
    "UnknownTemplateError",
    "TemplateStoreError",
    "Problem",
    "TemplateChange",
    "TemplateStatus",
    "Budget",
    "RENDER_BUDGET",
    "tick",
    "check_size",
    "kdate",
    "kdatetime",
    "edate",
    "edatetime",
    "phone",
    "SAFE_JINJA_FILTERS",
    "CUSTOM_FILTERS",
    "filters_for",
    "bounded_range",
    "DICT_METHODS",
    "SafeTemplateEnvironment",
    "compile_template",
    "render_part",
    "check_plain",
    "clean_subject",
    "tidy_text",
    "FrontMatter",
    "parse_front_matter",
    "Unit",
    "Environments",
    "template_version",
    "UnitBuilder",
    "render_unit",
    "lint_folder",
    "TemplateStore",
    "render_docs",
    "main",
]
