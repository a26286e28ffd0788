"""The cases list: filters, search that works for Korean, pages of 50, sort by due time.

Search looks in the reference, subject, customer name and address and the request's text.
SQLite: the ``case_search`` FTS5 table (trigram tokenizer, kept by triggers, migration 0007);
a word of three or more characters is a trigram MATCH (found anywhere, also inside longer
words), a shorter one (many Korean words have two syllables; trigrams cannot index them) a
prefix MATCH in ``case_search_words`` (unicode61 words: "방북" finds "방북을", "방북증명서"). PostgreSQL: ILIKE over the
expression that the pg_trgm GIN index covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case as sql_case, column, func, literal_column, or_, select, table, text

from intake.db import is_sqlite
from intake.models import Case, CaseClock
from intake.web.tables import SEARCH_TABLE, WORDS_TABLE

PAGE_SIZE = 50
# Counting every match of a common word costs a scan of all of them (250 ms for 80,000 matches on
# PostgreSQL); past this many the list says "1,000건 이상" and pages on while pages are full.
COUNT_CAP = 1000
# SQLite, a search with more matches than this: walk the due-time index instead of sorting them all.
SORT_LIMIT = 300
FILTERS = ("status", "channel", "category", "department", "handler", "overdue")
# The same expression as the pg_trgm index of migration 0007 (the planner matches it textually).
PG_DOC = literal_column("(ref || ' ' || subject || ' ' || customer_name || ' ' || "
                        "coalesce(customer_address, '') || ' ' || text)")
LIST_COLUMNS = (Case.id, Case.ref, Case.status, Case.channel, Case.category, Case.department, Case.handler_id,
                Case.subject, Case.customer_name, Case.received_at, Case.due_at, Case.overdue)


@dataclass(frozen=True)
class Query:
    q: str = ""
    status: str = ""
    channel: str = ""
    category: str = ""
    department: str = ""
    handler: str = ""
    overdue: bool = False
    sort: str = "due"          # due | -due
    page: int = 1

    @classmethod
    def from_params(cls, params) -> "Query":
        def one(name: str) -> str:
            return str(params.get(name) or "").strip()[:200]

        try:
            page = max(1, min(int(params.get("page") or 1), 10_000))
        except ValueError:
            page = 1
        sort = one("sort")
        return cls(q=one("q"), status=one("status"), channel=one("channel"), category=one("category"),
                   department=one("department"), handler=one("handler"), overdue=one("overdue") == "1",
                   sort=sort if sort in ("due", "-due") else "due", page=page)

    def params(self, **change) -> dict:
        values = {k: getattr(self, k) for k in ("q",) + FILTERS + ("sort", "page")}
        values.update(change)
        return {k: ("1" if v is True else v) for k, v in values.items() if v not in ("", False, None)}


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _pg_contains(word: str):
    """The document contains ``word``: LIKE for a word without letter case (Korean, digits; half
    the work of ILIKE, which folds the whole text first), ILIKE otherwise; the trigram index serves both."""
    if word.lower() == word.upper():
        return PG_DOC.like(_like(word), escape="\\")
    return PG_DOC.ilike(_like(word), escape="\\")


def _fts_matches(q: str) -> list[tuple[str, str, str]]:
    """SQLite: (FTS table, bind name, MATCH expression) for the words of ``q``: words of three or
    more characters as substrings anywhere (trigram index), shorter ones as word prefixes."""
    words = [w for w in q.split() if w][:8]
    long_words = [w for w in words if len(w) >= 3]
    short_words = [w for w in words if len(w) < 3]
    out = []
    if long_words:
        out.append((SEARCH_TABLE, "m", " AND ".join(_fts_phrase(w) for w in long_words)))
    if short_words:
        out.append((WORDS_TABLE, "w", " AND ".join(_fts_phrase(w) + "*" for w in short_words)))
    return out


def search_clauses(engine, q: str, by_due: bool = False) -> list:
    """``by_due`` (SQLite): match the ids without their index (``id + 0``), so the planner walks
    the due-time index and stops at a page, instead of fetching and sorting every match."""
    words = [w for w in q.split() if w][:8]
    if not words:
        return []
    if not is_sqlite(engine):
        return [_pg_contains(w) for w in words]
    ids = Case.id + 0 if by_due else Case.id
    return [ids.in_(text(f"SELECT rowid FROM {t} WHERE {t} MATCH :{name}").bindparams(**{name: m})
                    .columns(rowid=Case.id.type)) for t, name, m in _fts_matches(q)]


def where_clauses(engine, query: Query, visible, now: datetime, by_due: bool = False,
                  with_search: bool = True) -> list:
    out = [] if visible is None else [visible]
    for name, column in (("status", Case.status), ("channel", Case.channel), ("category", Case.category),
                         ("department", Case.department), ("handler", Case.handler_id)):
        value = getattr(query, name)
        if value:
            out.append(column == value)
    if query.overdue:
        out.append(or_(Case.overdue.is_(True), and_(Case.status == "open", Case.due_at < now)))
    return out + (search_clauses(engine, query.q, by_due) if with_search else [])


def list_cases(conn, query: Query, visible, now: datetime) -> tuple[list, int]:
    """One page of cases and how many match, counted up to ``COUNT_CAP + 1``."""
    if not is_sqlite(conn.engine):
        # psycopg prepares a statement run five times; PostgreSQL's generic plan for it (after five
        # more) cannot use the trigram index for ``ILIKE $1`` and scans every case: seconds, not
        # milliseconds. Plan each search for its own words (this transaction only).
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    where = where_clauses(conn.engine, query, visible, now)
    total = _count(conn, query, visible, now, where)
    if query.q and total > SORT_LIMIT and is_sqlite(conn.engine):
        where = where_clauses(conn.engine, query, visible, now, by_due=True)
    order = (Case.due_at.desc(), Case.id.desc()) if query.sort == "-due" else (Case.due_at, Case.id)
    stmt = select(*LIST_COLUMNS).where(*where).order_by(*order).limit(PAGE_SIZE).offset((query.page - 1) * PAGE_SIZE)
    return conn.execute(stmt).all(), total


def _count(conn, query: Query, visible, now: datetime, where: list) -> int:
    """How many cases match, up to ``COUNT_CAP + 1``. SQLite: the FTS tables drive a join, which
    streams matches and stops at the cap; ``IN (SELECT rowid …)`` would first collect every match
    (80 ms for a word found in every case)."""
    fts = _fts_matches(query.q) if is_sqlite(conn.engine) else []
    if not fts:
        return conn.execute(select(func.count()).select_from(
            select(Case.id).where(*where).limit(COUNT_CAP + 1).subquery())).scalar_one()
    stmt = select(Case.id).where(*where_clauses(conn.engine, query, visible, now, with_search=False))
    for name, bind, match in fts:
        index = table(name, column("rowid"))
        stmt = stmt.join(index, index.c.rowid == Case.id).where(
            text(f"{name} MATCH :{bind}").bindparams(**{bind: match}))
    return conn.execute(select(func.count()).select_from(stmt.limit(COUNT_CAP + 1).subquery())).scalar_one()


def refresh_statistics(engine) -> None:
    """SQLite: the planner's statistics of the cases table (``ANALYZE``, under a second at 100,000
    cases). Without them SQLite filters a list by the status index and sorts every open case
    instead of walking the due-time index to the first page. PostgreSQL's autovacuum keeps its own."""
    if is_sqlite(engine):
        with engine.begin() as conn:
            conn.exec_driver_sql(f"ANALYZE {Case.__tablename__}")


def today_summary(conn, user_id: str, visible, now: datetime, day_end: datetime) -> dict:
    """The Today page: my open cases by due time, due today, overdue, on hold; department counts."""
    mine = conn.execute(select(*LIST_COLUMNS).where(Case.handler_id == user_id, Case.status == "open")
                        .order_by(Case.due_at).limit(PAGE_SIZE)).all()
    scope = [] if visible is None else [visible]
    open_ = [Case.status == "open"] + scope
    late = or_(Case.overdue.is_(True), Case.due_at < now)
    held = select(CaseClock.case_id).where(CaseClock.state == "paused")
    counts = {
        "due_today": conn.execute(select(func.count()).select_from(Case).where(
            *open_, Case.due_at >= now, Case.due_at <= day_end)).scalar_one(),
        "overdue": conn.execute(select(func.count()).select_from(Case).where(*open_, late)).scalar_one(),
        "on_hold": conn.execute(select(func.count()).select_from(Case).where(
            *open_, Case.id.in_(held))).scalar_one(),
    }
    by_department = conn.execute(
        select(Case.department, func.count(), func.sum(sql_case((late, 1), else_=0)))
        .where(*open_).group_by(Case.department).order_by(Case.department)).all()
    return {"mine": mine, "counts": counts, "by_department": by_department}
