"""Messages that kill the process: counted by their unfinished claims, isolated, then set aside.

The per-message budget (``intake.budget``) catches a message that is slow or needs too
much memory while the process lives. A message that kills the process instead (a
crash in a C library, the kernel's OOM killer) would be claimed again by the
restarted daemon, kill it again, and so on for ever, with every message claimed
beside it held up too. So every claim of an ``inbound_message`` row adds one to its
``claim_count``; finishing the row (applied, or a failure recorded) sets it back to
0, and a clean exit gives back what it had not started. A row with a count above 0
was therefore held by a process that died.

``choose`` decides, purely, what to claim from the candidates: rows never held by a
dead process go in a batch as usual; a suspect is claimed ALONE (its death then
names it, not the whole batch beside it); a suspect whose count reached the limit
is not run again but set aside (``ProcessDied``) for a human, raw bytes kept.
"""

from __future__ import annotations

from dataclasses import dataclass

PROCESS_DIED = "ProcessDied"


@dataclass(frozen=True)
class Candidate:
    id: int
    claim_count: int


@dataclass(frozen=True)
class Choice:
    claim: tuple[int, ...]          # ids to claim now
    give_up: tuple[int, ...]        # ids to set aside: the process died on them ``limit`` times


def choose(candidates: list[Candidate], limit: int, max_deaths: int) -> Choice:
    """From due, free candidates (in claim order): what to claim and what to give up on."""
    give_up = tuple(c.id for c in candidates if c.claim_count >= max_deaths)
    live = [c for c in candidates if c.claim_count < max_deaths]
    suspects = [c for c in live if c.claim_count > 0]
    if suspects:
        return Choice(claim=(suspects[0].id,), give_up=give_up)
    return Choice(claim=tuple(c.id for c in live[:limit]), give_up=give_up)


def died_reason(deaths: int) -> str:
    return (f"{PROCESS_DIED}: the process died {deaths} times while working on this message "
            "(a crash or the kernel's memory killer); set aside so that the others go on")
