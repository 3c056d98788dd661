"""The ``high_need`` flag of a client, computed from the register.

Education Development Trust's model asks for proportionally greater reach to
high-need schools: pupil premium, deprivation and isolation. The register holds
no pupil premium counts (``pupils_pp_2019`` is the number on roll used for the
allocation, not the number eligible), so the flag uses documented proxies. A
client is **high-need** when any of these holds:

``fsm``
    share of pupils eligible for free school meals (January 2023 census, else the
    2024 GIAS figure) at least :attr:`Thresholds.fsm_share` (0.35, about the top
    quarter of state-funded schools). Free school meals stand in for the pupil
    premium, which is paid mostly on FSM eligibility in the last six years.
``idaci``
    the school's own LSOA is in IDACI 2019 decile :attr:`Thresholds.idaci_decile`
    (2) or lower: the 20% most deprived neighbourhoods for children.
``isolated``
    rural isolation: the nearest supporter of the scenario, of any kind, is at
    least :attr:`Thresholds.isolation_km` (20 km) away in a straight line.

Each client row gets ``high_need`` (``true``/blank), ``high_need_basis`` (which
tests held, with the values, or ``none``) and the inputs ``fsm_share`` and
``nearest_supporter_km``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree


@dataclass(frozen=True)
class Thresholds:
    """Thresholds of the high-need tests (see the module docstring)."""

    fsm_share: float = 0.35
    idaci_decile: int = 2
    isolation_km: float = 15.0


THRESHOLDS = Thresholds()


def fsm_share(schools: pd.DataFrame) -> pd.Series:
    """Share of pupils eligible for free school meals (0-1), NaN where unknown.

    The January 2023 school census figure, else the 2024 GIAS figure.
    """
    pct = schools["fsm_pct_spc_2023"].astype(float)
    pct = pct.fillna(schools["fsm_pct_gias_2024"].astype(float))
    return pct / 100.0


def nearest_km(clients: pd.DataFrame, supporters: pd.DataFrame) -> np.ndarray:
    """Straight-line distance (km) from each client to the nearest supporter (inf if none)."""
    if supporters.empty or clients.empty:
        return np.full(len(clients), np.inf)
    tree = cKDTree(supporters[["easting", "northing"]].to_numpy(float))
    d, _ = tree.query(clients[["easting", "northing"]].to_numpy(float), k=1)
    return np.asarray(d, dtype=float) / 1000.0


def flag_high_need(
    clients: pd.DataFrame,
    schools: pd.DataFrame,
    supporters: pd.DataFrame,
    thresholds: Thresholds = THRESHOLDS,
) -> pd.DataFrame:
    """Add ``high_need``, ``high_need_basis``, ``fsm_share`` and ``nearest_supporter_km``.

    Parameters
    ----------
    clients
        Client rows with ``urn``, ``easting`` and ``northing`` (scenario format).
    schools
        The register rows the clients come from (``urn``, FSM and IDACI columns).
    supporters
        The scenario's supporters (``easting``, ``northing``), for isolation.
    thresholds
        The thresholds (default :data:`THRESHOLDS`).

    Returns
    -------
    pandas.DataFrame
        A copy of ``clients`` with the four columns added.
    """
    by_urn = schools.drop_duplicates("urn").set_index(schools["urn"].astype(str))
    urn = clients["urn"].astype(str)
    fsm = urn.map(fsm_share(by_urn)).to_numpy(float)
    decile = urn.map(by_urn["idaci_decile_2019"].astype(float)).to_numpy(float)
    near = nearest_km(clients, supporters)
    t = thresholds
    tests = {
        "fsm": np.nan_to_num(fsm, nan=-1.0) >= t.fsm_share,
        "idaci": np.nan_to_num(decile, nan=99.0) <= t.idaci_decile,
        "isolated": near >= t.isolation_km,
    }
    basis = []
    for k in range(len(clients)):
        parts = []
        if tests["fsm"][k]:
            parts.append(f"FSM {100 * fsm[k]:.0f}% >= {100 * t.fsm_share:.0f}%")
        if tests["idaci"][k]:
            parts.append(f"IDACI decile {int(decile[k])} <= {t.idaci_decile}")
        if tests["isolated"][k]:
            far = "none" if not np.isfinite(near[k]) else f"{near[k]:.1f} km"
            parts.append(f"nearest supporter {far} >= {t.isolation_km:g} km")
        basis.append("; ".join(parts) or "none")
    out = clients.copy()
    out["high_need"] = tests["fsm"] | tests["idaci"] | tests["isolated"]
    out["high_need_basis"] = basis
    out["fsm_share"] = np.round(fsm, 4)
    out["nearest_supporter_km"] = np.round(np.where(np.isfinite(near), near, np.nan), 2)
    return out
