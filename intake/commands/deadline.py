"""``intake deadline``: compute a charter due time from the command line.

    intake deadline --received 2026-11-25T19:30:00+09:00 --policy reply [--json]
                    [--calendar config/calendar.toml] [--policies config/policies.toml]

With ``--json`` prints one object; ``due`` (ISO 8601 with offset) is a
contract. Without it prints one plain English line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from datetime import datetime
from pathlib import Path

from intake.domain.calendar_config import calendar_from_config, parse_calendar_config, parse_policies
from intake.domain.deadlines import Counting, due_time
from intake.domain.workdays import (
    SEOUL,
    business_time_between,
    needs_review_warning,
    to_seoul,
    working_time_between,
)
from intake.errors import ConfigError

DEFAULT_CALENDAR = Path("config/calendar.toml")
DEFAULT_POLICIES = Path("config/policies.toml")


def _aware_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 date-time: {text!r} (e.g. 2026-11-25T19:30:00+09:00)"
        ) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"needs a UTC offset, e.g. {text}+09:00")
    return value


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``deadline`` subcommand to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "deadline",
        help="compute the charter due time for a policy",
        description="Compute the charter due time of a request under a deadline policy.",
    )
    parser.add_argument("--received", required=True, type=_aware_datetime,
                        help="when the policy's clock-start event happened (receipt, approval "
                             "or error), ISO 8601 with offset, e.g. 2026-11-25T19:30:00+09:00")
    parser.add_argument("--policy", required=True, help="policy id, e.g. reply, review, error-contact")
    parser.add_argument("--json", action="store_true", help="print a JSON object")
    parser.add_argument("--calendar", type=Path, default=DEFAULT_CALENDAR,
                        help=f"calendar config (default {DEFAULT_CALENDAR})")
    parser.add_argument("--policies", type=Path, default=DEFAULT_POLICIES,
                        help=f"policies config (default {DEFAULT_POLICIES})")
    parser.set_defaults(handler=run)
    return parser


def _load_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), "(file)", "not found") from None
    except OSError as exc:
        raise ConfigError(str(path), "(file)", f"cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(syntax)", str(exc)) from None


def _hours(value) -> int | float:
    hours = value.total_seconds() / 3600
    return int(hours) if hours == int(hours) else round(hours, 4)


def run(args) -> int:
    """Handler for ``intake deadline``; returns the exit code."""
    try:
        calendar_config = parse_calendar_config(_load_toml(args.calendar), str(args.calendar))
        policies = parse_policies(_load_toml(args.policies), str(args.policies))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    policy = policies.get(args.policy)
    if policy is None:
        print(f"error: unknown policy {args.policy!r} (known: {', '.join(sorted(policies))})",
              file=sys.stderr)
        return 2

    received = to_seoul(args.received)
    calendar = calendar_from_config(calendar_config, range(received.year, received.year + 2))
    if needs_review_warning(datetime.now(SEOUL), calendar_config.reviewed_years):
        print(f"warning: holiday calendar not reviewed for the current/next year; "
              f"reviewed_years in {args.calendar} is {list(calendar_config.reviewed_years)}",
              file=sys.stderr)

    try:
        due = due_time(calendar, policy, received)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    assert due is not None  # no pauses given, so never pending

    result = {
        "due": due.isoformat(),
        "policy": policy.id,
        "received": received.isoformat(),
        "counting": policy.counting.value,
        "period": {"amount": policy.amount, "unit": policy.unit.value},
        "working_hours": _hours(working_time_between(calendar, received, due)),
    }
    if policy.counting is Counting.BUSINESS_ELAPSED:
        result["business_hours"] = _hours(business_time_between(calendar, received, due))

    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        line = (f"due {result['due']} (policy {policy.id}, {policy.amount} {policy.unit.value} "
                f"counted as {policy.counting.value}; received {result['received']}; "
                f"{result['working_hours']} working hours")
        if "business_hours" in result:
            line += f", {result['business_hours']} business-day hours"
        print(line + ")")
    return 0
