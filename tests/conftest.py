"""Shared fixtures: real local servers (Dovecot, SMTP sink, PostgreSQL) and message builders."""

from tests.devservers_fixtures import *  # noqa: F401,F403
from tests.e2e.harness import *  # noqa: F401,F403
