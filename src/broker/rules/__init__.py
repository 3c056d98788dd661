"""Programme eligibility rules: declarative TOML files in ``models/`` and a generic engine.

Each programme (NLE/NSS, LLE, Teach First Leading Together, Leading Edge, LEEP Local
Excellence Networks) is one rule file citing its sources; see ``models/README.md`` for the
schema and the input fields.

>>> from broker.rules import load_programme, assess           # doctest: +SKIP
>>> nle = load_programme("nle")                                # doctest: +SKIP
>>> assess(nle, schools)[["urn", "status", "reason"]]          # doctest: +SKIP
"""

from broker.rules.engine import OUTPUT_COLUMNS, assess, assess_all, derive
from broker.rules.loader import (
    ENV_VAR,
    find_models_dir,
    list_programmes,
    load_all,
    load_fields,
    load_programme,
)
from broker.rules.schema import (
    Criterion,
    Derivation,
    FieldSpec,
    Group,
    OnFail,
    Programme,
    Role,
    Source,
    Status,
    Terms,
    Test,
)

__all__ = [
    "ENV_VAR",
    "OUTPUT_COLUMNS",
    "Criterion",
    "Derivation",
    "FieldSpec",
    "Group",
    "OnFail",
    "Programme",
    "Role",
    "Source",
    "Status",
    "Terms",
    "Test",
    "assess",
    "assess_all",
    "derive",
    "find_models_dir",
    "list_programmes",
    "load_all",
    "load_fields",
    "load_programme",
]
