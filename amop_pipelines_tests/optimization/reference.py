"""A deliberately plain reading of DESIGN.md section 3, in exact fractions, to check the engine."""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from amop_pipelines.optimization.problem import MB_SCALE, MONEY_SCALE, Problem


def reference_cost(problem: Problem, assignment) -> Decimal:
    p, d, D = problem.plans, problem.devices, problem.cycle_days
    pools: dict[tuple, list[int]] = defaultdict(list)
    for i, plan in enumerate(assignment):
        plan = int(plan)
        key = (plan, d.keys[d.pool_key[i]]) if p.pooled[plan] else (plan, "device", i)
        pools[key].append(i)
    total = Decimal(0)
    for key, members in pools.items():
        plan = key[0]
        charge = Fraction(int(p.charge[plan]), MONEY_SCALE)
        allowance = Fraction(int(p.allowance[plan]), MB_SCALE)
        rate = Fraction(int(p.rate[plan]), MONEY_SCALE)
        unit = Fraction(int(p.unit[plan]), MB_SCALE)
        sms_rate = Fraction(int(p.sms[plan]), MONEY_SCALE)
        f = sum(Fraction(min(int(d.days[i]), D), D) for i in members)
        usage = sum(Fraction(int(d.usage[i]), MB_SCALE) for i in members)
        sms = sum(int(d.sms[i]) for i in members)
        base = f * charge
        over = max(Fraction(0), usage - f * allowance)
        overage = math.ceil(over / unit) * rate
        cost = base + overage + sms * sms_rate
        exact = Decimal(cost.numerator) / Decimal(cost.denominator)
        total += exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return total
