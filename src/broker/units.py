"""Units and the one place where real quantities become the integers CP-SAT needs.

broker keeps quantities in real units at its edges (days per week, pounds sterling,
kilometres) and converts them to integers exactly once, here:

* ``DAY_SCALE = 100``: days are held as whole hundredths of a day ("centidays").
  Inputs with finer resolution are rejected by validation, so no day value is ever
  rounded.
* ``MONEY_SCALE = 10_000``: money is held in units of £0.0001. A package costs
  ``need_days x weeks x day_rate_gbp``; with days in hundredths and day rates in
  whole pence, the product is an exact integer in these units
  (centidays x weeks x pence = £/10,000). Budgets are compared exactly.

Level-2 objective terms (cost, distance, penalties) are weights chosen by the user;
they are scaled by ``OBJECTIVE_SCALE`` and rounded to integers. This rounding only
affects the tie-breaking level, never feasibility or level 1, and the reported
level-2 value is recomputed in floating point from the real quantities.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np

DAY_SCALE = 100
MONEY_SCALE = 10_000
PENCE_PER_GBP = 100
OBJECTIVE_SCALE = 1_000


def decimal_places(text: str) -> int | None:
    """Number of decimal places written in ``text``, or ``None`` if it is not a number."""
    try:
        d = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite():
        return None
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def days_to_int(days: np.ndarray | float) -> np.ndarray:
    """Convert days (at most two decimals, already validated) to centidays."""
    return np.rint(np.asarray(days, dtype=float) * DAY_SCALE).astype(np.int64)


def gbp_to_int(gbp: np.ndarray | float) -> np.ndarray:
    """Convert pounds (at most two decimals, i.e. whole pence) to £0.0001 units."""
    return np.rint(np.asarray(gbp, dtype=float) * MONEY_SCALE).astype(np.int64)


def package_cost_int(need_cdays: np.ndarray, weeks: np.ndarray, rate_gbp: np.ndarray) -> np.ndarray:
    """Exact package cost in £0.0001 units.

    ``need_cdays`` are centidays per week, ``weeks`` whole school weeks and
    ``rate_gbp`` pounds per day in whole pence. The product
    ``centidays x weeks x pence`` equals the cost in £/10,000 exactly.
    """
    pence = np.rint(np.asarray(rate_gbp, dtype=float) * PENCE_PER_GBP).astype(np.int64)
    return np.asarray(need_cdays, dtype=np.int64) * np.asarray(weeks, dtype=np.int64) * pence


def int_to_gbp(units: np.ndarray | int) -> np.ndarray | float:
    """Convert £0.0001 units back to pounds."""
    return np.asarray(units, dtype=float) / MONEY_SCALE
