"""Comm-plan groups: communication plans that allow the same set of rate plans form one group.

Pools never cross pool keys (a customer's pool, or the account's shared pool), so the problem
also splits exactly by pool key; within a key, groups interact only through shared pools.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from amop_pipelines.optimization.problem import Problem

# A group allowing more plans is not optimized (its devices keep their plans) and an alert names it
# (the seeds: 15 per M2M group, "a maximum limit per optimization group" for Mobility).
MAX_PLANS_PER_GROUP = {"M2M": 15, "Mobility": 15}


@dataclass(frozen=True)
class CommGroup:
    index: int
    plans: tuple[int, ...]  # plan indices allowed to every device of the group
    option_sets: tuple[int, ...]  # the option sets (comm plan x optimization group) it merges
    comm_plans: tuple[str, ...]
    optimization_group: str  # "" for M2M

    @property
    def is_mobility(self) -> bool:
        return bool(self.optimization_group)

    @property
    def name(self) -> str:
        label = "+".join(self.comm_plans)
        return f"{label} [{self.optimization_group}]" if self.optimization_group else label

    @property
    def kind(self) -> str:
        return "Mobility" if self.optimization_group else "M2M"

    @property
    def plan_limit(self) -> int:
        return MAX_PLANS_PER_GROUP[self.kind]

    @property
    def over_plan_limit(self) -> bool:
        return len(self.plans) > self.plan_limit


def comm_groups(problem: Problem) -> tuple[list[CommGroup], np.ndarray]:
    """The groups, and for each device the index of its group."""
    d = problem.devices
    rows, group_of_set = np.unique(d.option_sets, axis=0, return_inverse=True)
    group_of_set = group_of_set.reshape(-1)
    names: dict[int, set[str]] = {}
    optimization_group: dict[int, str] = {}
    for option_set, (comm, group) in enumerate(d.option_set_pairs):
        g = int(group_of_set[option_set])
        names.setdefault(g, set()).add(d.comm_plans[comm])
        optimization_group[g] = d.groups[group]
    groups = [
        CommGroup(
            index=g,
            plans=tuple(int(p) for p in np.flatnonzero(rows[g])),
            option_sets=tuple(int(s) for s in np.flatnonzero(group_of_set == g)),
            comm_plans=tuple(sorted(names[g])),
            optimization_group=optimization_group[g],
        )
        for g in range(len(rows))
    ]
    return groups, group_of_set[d.option_set]


def independent_sets(problem: Problem, groups: list[CommGroup], group_of: np.ndarray) -> list[np.ndarray]:
    """Device rows that can be optimized apart from all others: one pool key's groups linked by
    the pooled plans they share. Groups sharing no pooled plan share no pool (a non-pooled plan
    gives every device its own), so neither method's choice in one set changes the other's cost.
    In key order."""
    pooled = problem.plans.pooled
    parent = list(range(len(groups)))

    def root(g: int) -> int:
        while parent[g] != g:
            parent[g] = parent[parent[g]]
            g = parent[g]
        return g

    first_with_plan: dict[int, int] = {}
    for group in groups:
        for plan in group.plans:
            if pooled[plan]:
                other = first_with_plan.setdefault(plan, group.index)
                parent[root(group.index)] = root(other)
    linked = np.array([root(g.index) for g in groups], dtype=np.int64)
    d = problem.devices
    sets = []
    for key in range(len(d.keys)):
        in_key = d.pool_key == key
        for component in np.unique(linked[group_of[in_key]]) if in_key.any() else []:
            sets.append(np.flatnonzero(in_key & (linked[group_of] == component)))
    return sets
