"""Names and regions of local authorities, from the bundled DfE/ONS lookup."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

UNKNOWN_REGION = "Unknown region"


@lru_cache(maxsize=1)
def _lookup() -> dict[str, tuple[str, str]]:
    from broker.data import load_authorities

    a = load_authorities()
    return {
        code: (name, region)
        for code, name, region in zip(
            a["la_code"], a["la_name_gias"], a["region_name"], strict=True
        )
    }


def la_names(codes: np.ndarray | pd.Series | list[str]) -> np.ndarray:
    """GIAS name of each DfE LA code (the code itself when it is not a known LA)."""
    table = _lookup()
    return np.array([table.get(str(c), (str(c), ""))[0] for c in codes], dtype=object)


def la_regions(codes: np.ndarray | pd.Series | list[str]) -> np.ndarray:
    """Region name of each DfE LA code (:data:`UNKNOWN_REGION` when not a known LA)."""
    table = _lookup()
    return np.array([table.get(str(c), ("", UNKNOWN_REGION))[1] for c in codes], dtype=object)


def codes_index(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique labels and the index of each input in them (deterministic)."""
    labels, inverse = np.unique(np.asarray(codes, dtype=str), return_inverse=True)
    return labels.astype(object), inverse.astype(np.int64)
