"""Exceptions shared across the package."""

from __future__ import annotations


class IntakeError(Exception):
    """Base class for errors intake reports to its operators."""


class ConfigError(IntakeError):
    """A configuration problem: names the file, the key and what is wrong."""

    def __init__(self, file: str, key: str, problem: str):
        self.file = str(file)
        self.key = key
        self.problem = problem
        super().__init__(f"{self.file}: {key}: {problem}")


class ConfigErrors(IntakeError):
    """Several configuration problems found in one validation pass."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(e) for e in self.errors))


class TemporaryDeliveryError(IntakeError):
    """SMTP (or other) delivery failed in a way worth retrying (4xx, network)."""


class PermanentDeliveryError(IntakeError):
    """Delivery refused for good (5xx): retrying will not help."""


class MailParseError(IntakeError):
    """Input that is not a message at all (empty or not bytes); bad mail never raises."""
