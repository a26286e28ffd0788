"""Admins' alerts (placeholder until the conditions are wired; see check_alerts)."""

from __future__ import annotations


def check_alerts(app, now, ops=None) -> int:
    return 0
