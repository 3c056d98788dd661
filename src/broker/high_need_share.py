"""How much of a round's matched need goes to high-need schools.

One pure function of the scenario's clients and a round's outcomes, used by
``broker run`` (``summary.json``), ``broker spread`` (``headline.json``) and the
high-need trade-off benchmark, so the figure is computed one way everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def high_need_share(
    clients: pd.DataFrame, matched_ids: Iterable[str]
) -> dict[str, float | int] | None:
    """High-need figures of a round, or ``None`` if no client is flagged ``high_need``.

    Parameters
    ----------
    clients
        The scenario's clients (``client_id``, ``need_days``, ``priority`` and the
        boolean ``high_need``).
    matched_ids
        Ids of the clients matched (a lead supporter, pinned or not).

    Returns
    -------
    dict or None
        ``clients`` (high-need clients), ``matched`` (of them), ``need_days`` and
        ``matched_need_days`` (their need and the part matched, days a week),
        ``share_of_matched_need`` (high-need need matched / all need matched: the
        headline figure), ``share_of_need`` (high-need need / all need: what
        matching everyone would give), ``reach`` (high-need need matched /
        high-need need) and ``priority_matched`` (their priority matched).
    """
    if "high_need" not in clients or not clients["high_need"].to_numpy(bool).any():
        return None
    high = clients["high_need"].to_numpy(bool)
    need = clients["need_days"].to_numpy(float)
    prio = clients["priority"].to_numpy(np.int64)
    matched = clients["client_id"].isin(list(matched_ids)).to_numpy()
    m_need = float(need[matched].sum())
    h_need = float(need[high].sum())
    hm_need = float(need[high & matched].sum())

    def ratio(a: float, b: float) -> float:
        return round(a / b, 4) if b else 0.0

    return {
        "clients": int(high.sum()),
        "matched": int((high & matched).sum()),
        "need_days": round(h_need, 2),
        "matched_need_days": round(hm_need, 2),
        "share_of_matched_need": ratio(hm_need, m_need),
        "share_of_need": ratio(h_need, float(need.sum())),
        "reach": ratio(hm_need, h_need),
        "priority_matched": int(prio[high & matched].sum()),
    }
