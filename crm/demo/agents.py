"""Demo agents: who they are, how good they are, and which one a new lead is routed to."""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from crm.demo import profiles
from crm.demo.timeline import DAY, CumulativePicker


@dataclass(frozen=True)
class AgentIdentity:
    email: str
    name: str
    team: str


@dataclass(frozen=True)
class AgentSkill:
    index: int
    email: str
    archetype: str
    conversion: float
    response_hours: float
    satisfaction_mean: float
    capacity: float
    # POSIX seconds; None means the whole history. Leads are only routed in between.
    active_from: float | None
    active_until: float | None

    @property
    def inactive(self) -> bool:
        """Left the team: stored with is_active_agent False."""
        return self.active_until is not None


def agent_identity(*, index: int, org_slug: str) -> AgentIdentity:
    """Name, e-mail and team of the index-th demo agent of an organization.

    31 (first names + 1) and 40 (last names) are coprime, so the first 1,200 indexes give
    distinct name pairs; the organization's slug in the domain keeps e-mails (unique across
    the whole site) distinct between organizations.
    """
    firsts, lasts = profiles.AGENT_FIRST_NAMES, profiles.AGENT_LAST_NAMES
    first = firsts[index % len(firsts)]
    last = lasts[(index + (index // len(firsts)) * (len(firsts) + 1)) % len(lasts)]
    local = f"{first}.{last}".lower().replace(" ", "")
    suffix = "" if index < len(firsts) * len(lasts) else str(index)
    return AgentIdentity(
        email=f"{local}{suffix}@{org_slug}.example.com",
        name=f"{first} {last}",
        team=profiles.TEAMS[index % len(profiles.TEAMS)],
    )


def agent_skills(
    *, seed: int, emails: Sequence[str], inactive_agents: int, as_of: dt.datetime
) -> list[AgentSkill]:
    """One distinct skill set per agent, by position in `emails`.

    Archetypes cycle and every agent gets its own jitter, so no two agents share figures.
    The last `inactive_agents` agents left between 3 and 5 months before as_of; at larger
    scales every tenth agent joined during the year. Agent 0 is always active all year, so
    there is always someone to route a lead to.
    """
    rng = random.Random(f"crm-demo:{seed}:agents")
    end = as_of.timestamp()
    count = len(emails)
    skills = []
    for index, email in enumerate(emails):
        base = profiles.AGENT_ARCHETYPES[index % len(profiles.AGENT_ARCHETYPES)]
        active_from = active_until = None
        if index >= 1 and index >= count - inactive_agents:
            active_until = end - rng.uniform(90, 150) * DAY
        elif index % 10 == 9 and count > 10:
            active_from = end - rng.uniform(30, 300) * DAY
        skills.append(
            AgentSkill(
                index=index,
                email=email,
                archetype=base.label,
                conversion=base.conversion * rng.uniform(0.92, 1.08),
                response_hours=base.response_hours * rng.uniform(0.85, 1.15),
                satisfaction_mean=min(4.9, base.satisfaction_mean + rng.uniform(-0.12, 0.12)),
                capacity=base.capacity * rng.uniform(0.9, 1.1),
                active_from=active_from,
                active_until=active_until,
            )
        )
    return skills


class Router:
    """Routes a lead created at an instant to one of the agents active then, by capacity."""

    def __init__(self, skills: Sequence[AgentSkill]) -> None:
        if not skills:
            raise ValueError("the demo needs at least one agent")
        self.skills = list(skills)
        edges = sorted({t for s in skills for t in (s.active_from, s.active_until) if t is not None})
        self._edges = [float("-inf"), *edges]
        self._segments: list[tuple[list[AgentSkill], CumulativePicker]] = []
        for start in self._edges:
            active = [
                s
                for s in skills
                if (s.active_from is None or s.active_from <= start)
                and (s.active_until is None or start < s.active_until)
            ] or [self.skills[0]]
            self._segments.append((active, CumulativePicker([s.capacity for s in active])))

    def pick(self, rng: random.Random, t: float) -> AgentSkill:
        active, picker = self._segments[bisect_right(self._edges, t) - 1]
        return active[picker.pick(rng)]

    def owner_at(self, agent: AgentSkill, t: float, successor_seed: int) -> AgentSkill:
        """The account owner at t: the agent, or after they left, a colleague chosen once
        per account (successor_seed), so all later sales of the account go to one person."""
        if agent.active_until is None or t < agent.active_until:
            return agent
        return self.pick(random.Random(successor_seed), agent.active_until)
