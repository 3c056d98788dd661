r"""Inequality indices used to summarise how evenly supply is spread across areas.

Both indices take one non-negative value :math:`x_a` per area (e.g. supply days
in reach per day of need) and optional weights :math:`w_a \ge 0` (default 1:
every area counts once). Write :math:`W = \sum_a w_a` and the weighted mean
:math:`\mu = \sum_a w_a x_a / W`.

Gini coefficient (0 = every area equal; tends to 1 when one area has it all)::

    G = \frac{\sum_a \sum_b w_a w_b |x_a - x_b|}{2 W^2 \mu}

Theil index T (0 = equal; at most \ln W for unit weights)::

    T = \frac{1}{W} \sum_a w_a \frac{x_a}{\mu} \ln \frac{x_a}{\mu},   with 0 \ln 0 = 0

Theil's T decomposes exactly over a partition of the areas into groups g (e.g.
regions), with income shares :math:`s_g = W_g \mu_g / (W \mu)`::

    T = \underbrace{\sum_g s_g \ln(\mu_g / \mu)}_{between} + \underbrace{\sum_g s_g T_g}_{within}

All three are undefined (NaN) when :math:`\mu = 0` or there are no areas.
"""

from __future__ import annotations

import numpy as np


def _prepare(values: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if x.shape != w.shape or x.ndim != 1:
        raise ValueError("values and weights must be 1-D arrays of the same length")
    if np.any(~np.isfinite(x)) or np.any(x < 0):
        raise ValueError("values must be finite and >= 0")
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be finite and >= 0")
    keep = w > 0
    return x[keep], w[keep]


def gini(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    r"""Weighted Gini coefficient :math:`G` (see the module docstring).

    Computed in :math:`O(n \log n)`: with the values sorted ascending and
    :math:`W_{<a}`, :math:`W_{>a}` the weight strictly before and after position
    ``a``, :math:`\sum_a\sum_b w_a w_b |x_a-x_b| = 2\sum_a w_a x_a (W_{<a}-W_{>a})`.

    Parameters
    ----------
    values
        One finite value >= 0 per area.
    weights
        Optional weights >= 0 (areas with weight 0 are ignored).

    Returns
    -------
    float
        In ``[0, 1)``; NaN when there are no areas or the weighted mean is 0.
    """
    x, w = _prepare(values, weights)
    total = float(np.sum(w * x))
    if len(x) == 0 or total <= 0:
        return float("nan")
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cum = np.cumsum(w)
    big_w = cum[-1]
    before = cum - w
    after = big_w - cum
    return float(np.sum(w * x * (before - after)) / (big_w * total))


def theil(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    r"""Weighted Theil index :math:`T` (see the module docstring).

    Returns
    -------
    float
        >= 0; NaN when there are no areas or the weighted mean is 0.
    """
    x, w = _prepare(values, weights)
    if len(x) == 0:
        return float("nan")
    mu = float(np.sum(w * x) / np.sum(w))
    if mu <= 0:
        return float("nan")
    r = x / mu
    terms = np.where(r > 0, r * np.log(np.where(r > 0, r, 1.0)), 0.0)
    return float(max(np.sum(w * terms) / np.sum(w), 0.0))


def theil_decomposition(
    values: np.ndarray, groups: np.ndarray, weights: np.ndarray | None = None
) -> dict[str, float]:
    r"""Split Theil's T into between-group and within-group parts.

    Parameters
    ----------
    values
        One value >= 0 per area.
    groups
        One group label per area (e.g. the region).
    weights
        Optional area weights.

    Returns
    -------
    dict
        ``total`` (:math:`T`), ``between`` (:math:`\sum_g s_g \ln(\mu_g/\mu)`),
        ``within`` (:math:`\sum_g s_g T_g`) and ``between_share`` (between / total;
        NaN when total is 0). ``between + within == total`` up to rounding.
    """
    x = np.asarray(values, dtype=float)
    g = np.asarray(groups)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if g.shape != x.shape:
        raise ValueError("groups must have one label per value")
    total = theil(x, w)
    if np.isnan(total):
        return {
            "total": total,
            "between": float("nan"),
            "within": float("nan"),
            "between_share": float("nan"),
        }
    mu = float(np.sum(w * x) / np.sum(w))
    big_w = float(np.sum(w))
    between = within = 0.0
    for label in sorted(set(g.tolist()), key=str):
        m = g == label
        wg = float(np.sum(w[m]))
        if wg <= 0:
            continue
        mug = float(np.sum(w[m] * x[m]) / wg)
        if mug <= 0:
            continue
        share = wg * mug / (big_w * mu)
        between += share * np.log(mug / mu)
        within += share * theil(x[m], w[m])
    return {
        "total": total,
        "between": float(between),
        "within": float(within),
        "between_share": float(between / total) if total > 0 else float("nan"),
    }
