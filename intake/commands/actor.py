"""Who a command acts as: ``--actor ID``, else ``cli:$USER`` (kept in the audit trail)."""

from __future__ import annotations

import argparse
import getpass


def actor_of(args: argparse.Namespace) -> str:
    if args.actor:
        return args.actor
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli"
