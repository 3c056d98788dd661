"""A top-up round as a transformation: ledger state + scenario -> a derived scenario.

The derived scenario goes through the one pipeline (:func:`broker.pipeline.run_round`)
like any other; nothing here solves anything. :func:`derive_topup` reads the
deployments table (:func:`broker.ledger.repository.deployments_frame`) and the
scenario the user gives, and returns a :class:`TopUpPlan` whose scenario:

* **pins** every committed deployment still being delivered (``contracted``,
  ``in_delivery``) whose client and supporter are in the scenario, at the
  contracted days per week and weeks (``pinned.csv``);
* lists every **declined** pair as a conflict, so it is never proposed again,
  while the declined client may still be matched to someone else
  (``conflicts.csv``);
* offers every open **proposal** (``proposed`` .. ``costed``) as one to keep
  (``proposals.csv``): the solver keeps as many as it can without lowering the
  priority matched;
* **reduces** a supporter's capacity, an authority's budget and the programme
  budget by what deployments held outside the scenario use (commitments and open
  proposals of clients the scenario does not list, or leaves out);
* **leaves out** clients that already have work the round must not touch: a
  deployment at ``reported`` (delivery done, not yet closed), or a committed
  deployment with a supporter the scenario does not list;
* carries **history** into the client columns: ``previous_supporter_id`` (the
  supporter of the client's last completed deployment, for the continuity reward)
  and ``exclude_kinds`` from the programme rules in :data:`HISTORY_RULES` (no
  second Leading Together partnership, no second LEEP lead).

:func:`explain_changes` then compares the round's answer with the proposals it
was given and says, for each one changed, why.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from broker.errors import ProblemCollector
from broker.ledger.repository import Base
from broker.ledger.stages import OCCUPYING, OPEN, PROPOSALS, Stage
from broker.scenario.build import write_scenario
from broker.scenario.model import Config, Scenario

HUNDRED = Decimal(100)


# ---------------------------------------------------------------------------
# programme rules that depend on history


@dataclass(frozen=True)
class HistoryRule:
    """A programme rule about what a client may receive given what it has had.

    A client with a deployment whose supporter kind is in ``kinds`` (or whose mode
    is in ``modes``) at one of ``stages`` must not get a supporter of a kind in
    ``exclude_kinds``. The exclusion is written into the client's
    ``exclude_kinds`` column of the derived scenario.
    """

    id: str
    text: str
    kinds: tuple[str, ...]
    modes: tuple[str, ...]
    stages: frozenset[Stage]
    exclude_kinds: tuple[str, ...]

    def applies(self, kind: object, mode: object, stage: str) -> bool:
        return Stage(stage) in self.stages and (kind in self.kinds or mode in self.modes)


@functools.lru_cache(maxsize=8)
def history_rules(models_dir: str | Path | None = None) -> tuple[HistoryRule, ...]:
    """The history rules, with Leading Together's support modes from its rule file.

    ``models/leading_together.toml``: a two-year programme that a school which has
    completed it cannot have again. LEEP: a school already receiving support from
    a Local Excellence Network lead does not get a second lead person.
    """
    from broker.rules import load_programme

    lt = load_programme("leading_together", models_dir=models_dir)
    return (
        HistoryRule(
            id="leading_together_once",
            text=f"a school that has completed {lt.name} cannot have it again",
            kinds=("achievement_partner",),
            modes=tuple(lt.terms.support_modes),
            stages=frozenset({Stage.REPORTED, Stage.CLOSED}),
            exclude_kinds=("achievement_partner",),
        ),
        HistoryRule(
            id="leep_one_lead",
            text="a LEEP school already receiving support gets no second lead person",
            kinds=("len_lead",),
            modes=(),
            stages=frozenset({Stage.CONTRACTED, Stage.IN_DELIVERY}),
            exclude_kinds=("len_lead",),
        ),
    )


# ---------------------------------------------------------------------------
# the plan


ADJUSTMENT_COLUMNS = ["what", "id", "before", "after", "deployments", "note"]
LEFT_OUT_COLUMNS = ["client_id", "deployment_id", "supporter_id", "stage", "why"]


@dataclass(frozen=True, eq=False)
class TopUpPlan:
    """A derived scenario and what the round needs to record its answer.

    Attributes
    ----------
    scenario
        The derived scenario (in memory; :func:`write_topup` writes it).
    proposals
        ``client_id, supporter_id, role``: open proposals the round should keep if
        it can (also ``scenario.proposals``, written as ``proposals.csv``).
    base
        Each in-scenario client's current deployment when the plan was made, by
        (client_id, role); clients with none are absent.
    forced
        Proposals that cannot be kept whatever the solver does, with the reason.
    adjustments
        Capacities and budgets reduced, supporters dropped (:data:`ADJUSTMENT_COLUMNS`).
    left_out
        Clients of the scenario that the round leaves alone (:data:`LEFT_OUT_COLUMNS`).
    ledger_version
        The ledger version the plan was derived from.
    """

    scenario: Scenario
    proposals: pd.DataFrame
    base: dict[tuple[str, str], Base]
    forced: dict[tuple[str, str], str]
    adjustments: pd.DataFrame
    left_out: pd.DataFrame
    ledger_version: int = 0
    pinned_deployments: dict[str, int] = field(default_factory=dict)
    declined_pairs: int = 0


PAIR_COLUMNS = ("client_id", "supporter_id", "role")


def _with_role(pairs: pd.DataFrame) -> pd.DataFrame:
    out = pairs.copy()
    if "role" not in out:
        out["role"] = "lead"
    return out


def round_terms(scenario: Scenario) -> int:
    """How many terms the scenario's round plans for (1 when it does not say)."""
    return int(getattr(scenario.config, "terms", 1) or 1)


def terms_of(start: object, end: object, n_terms: int) -> range:
    """0-based terms of the round a deployment occupies.

    ``start_term`` and ``end_term`` count from 1; a deployment without them
    occupies every term of the round.
    """
    if start is None or pd.isna(start):  # type: ignore[call-overload]
        return range(n_terms)
    first = max(int(start) - 1, 0)  # type: ignore[call-overload]
    last = n_terms - 1 if end is None or pd.isna(end) else int(end) - 1  # type: ignore[call-overload]
    return range(first, min(last, n_terms - 1) + 1)


def in_round_share(start: object, end: object, n_terms: int) -> Decimal:
    """Share of a deployment's cost that falls in the round's terms."""
    if start is None or pd.isna(start) or end is None or pd.isna(end):  # type: ignore[call-overload]
        return Decimal(1)
    span = int(end) - int(start) + 1  # type: ignore[call-overload]
    inside = len(terms_of(start, end, n_terms))
    return Decimal(inside) / Decimal(span) if span > 0 else Decimal(0)


def supporter_capacity(sup: pd.DataFrame, n_terms: int) -> np.ndarray:
    """Each supporter's capacity per term in centidays, ``(n_supporters, n_terms)``.

    From ``capacity_by_term`` (days per term separated by ``;``) where given,
    else ``capacity_days`` in every term.
    """
    out = np.repeat(
        np.rint(sup["capacity_days"].to_numpy(float) * 100).astype(np.int64)[:, None],
        n_terms,
        axis=1,
    )
    if "capacity_by_term" in sup.columns:
        for k, v in enumerate(sup["capacity_by_term"]):
            parts = _split(v)
            if len(parts) == n_terms:
                out[k] = [_centi(x) for x in parts]
    return out


def _set_capacity(sup: pd.DataFrame, caps: np.ndarray, n_terms: int) -> None:
    """Write per-term capacities (centidays) back as ``capacity_by_term`` and ``capacity_days``.

    ``capacity_days`` must stay above 0, so it is the largest term's capacity;
    the per-term figures are what the solver uses.
    """
    sup["capacity_by_term"] = [tuple(float(c) / 100 for c in row) for row in caps]
    sup["capacity_days"] = np.maximum(caps.max(axis=1), 1) / 100


def _days_text(caps: np.ndarray) -> str:
    return ";".join(f"{c / 100:g}" for c in caps)


def _centi(v: object) -> int:
    return int((Decimal(str(v)) * HUNDRED).to_integral_value())


def derive_topup(
    scenario: Scenario,
    deployments: pd.DataFrame,
    *,
    ledger_version: int = 0,
    rules: Iterable[HistoryRule] | None = None,
    terms: int | None = None,
) -> TopUpPlan:
    """Derive the top-up scenario from ``scenario`` and the ledger's ``deployments``.

    Parameters
    ----------
    scenario
        The programme's current scenario (new clients added, needs updated).
    deployments
        Every deployment in the ledger, as :func:`~broker.ledger.repository.deployments_frame`
        returns them.
    ledger_version
        Recorded in the plan so the round can tell whether the ledger moved on.
    rules
        History rules (default :func:`history_rules`).
    terms
        Terms of the round (default: the scenario's ``[round] terms``, else 1).

    Raises
    ------
    broker.errors.InputError
        If committed deployments need more of a supporter than the scenario gives
        it (the message names the supporter, the deployments and the figures).
    """
    rules = tuple(history_rules() if rules is None else rules)
    sup = scenario.supporters.copy()
    cli = scenario.clients.copy()
    aut = scenario.authorities.copy()
    dep = deployments.copy()
    client_ids = set(cli["client_id"])
    supporter_ids = set(sup["supporter_id"])
    open_ = dep[dep["stage"].isin([s.value for s in OPEN])]

    # -- clients the round leaves alone
    left: list[tuple[str, int, str, str, str]] = []
    for d in open_.itertuples(index=False):
        if d.client_id not in client_ids:
            continue
        if d.stage == Stage.REPORTED:
            left.append(
                (
                    d.client_id,
                    d.deployment_id,
                    d.supporter_id,
                    d.stage,
                    "delivery reported, not yet closed: close it before a new round "
                    "can match the school",
                )
            )
        elif d.stage in OCCUPYING and d.supporter_id not in supporter_ids:
            left.append(
                (
                    d.client_id,
                    d.deployment_id,
                    d.supporter_id,
                    d.stage,
                    f"committed to supporter {d.supporter_id}, who is not in this scenario",
                )
            )
    left_out = pd.DataFrame(left, columns=LEFT_OUT_COLUMNS)
    left_ids = set(left_out["client_id"])
    in_round = client_ids - left_ids

    # -- pins: committed and being delivered, client and supporter in the round
    pins = open_[
        open_["stage"].isin([s.value for s in OCCUPYING])
        & open_["client_id"].isin(in_round)
        & open_["supporter_id"].isin(supporter_ids)
    ]
    pinned_ids = set(pins["client_id"])
    pinned_keys = set(zip(pins["client_id"], pins["role"], strict=True))
    # -- proposals of clients in the round
    props = open_[
        open_["stage"].isin([s.value for s in PROPOSALS]) & open_["client_id"].isin(in_round)
    ]
    represented = set(pins["deployment_id"]) | set(props["deployment_id"])
    outside = open_[
        ~open_["deployment_id"].isin(represented)
        & open_["stage"].isin([s.value for s in OCCUPYING | PROPOSALS])
    ]

    adjustments: list[tuple[str, str, str, str, str, str]] = []
    errors = ProblemCollector()

    # -- supporters: capacity in each term less what is held outside the round
    n_terms = terms or round_terms(scenario)
    out_load: dict[str, np.ndarray] = {}
    ids_out: dict[str, list[int]] = {}
    for d in outside.itertuples(index=False):
        use = out_load.setdefault(d.supporter_id, np.zeros(n_terms, np.int64))
        use[list(terms_of(d.start_term, d.end_term, n_terms))] += _centi(d.days_per_week)
        ids_out.setdefault(d.supporter_id, []).append(int(d.deployment_id))
    pin_load: dict[str, np.ndarray] = {}
    for d in pins.itertuples(index=False):
        use = pin_load.setdefault(d.supporter_id, np.zeros(n_terms, np.int64))
        use[list(terms_of(d.start_term, d.end_term, n_terms))] += _centi(d.days_per_week)
    keep = np.ones(len(sup), dtype=bool)
    caps = supporter_capacity(sup, n_terms)  # centidays, (n_supporters, n_terms)
    for k, sid in enumerate(sup["supporter_id"]):
        before = caps[k].copy()
        if sid in out_load:
            caps[k] = np.maximum(before - out_load[sid], 0)
            ids = ", ".join(f"#{i}" for i in ids_out[sid])
            if not caps[k].any() and sid not in pin_load:
                keep[k] = False
                adjustments.append(
                    (
                        "supporter_dropped",
                        sid,
                        _days_text(before),
                        "0",
                        ids,
                        "all of its days are held by deployments outside this round",
                    )
                )
                continue
            adjustments.append(
                (
                    "capacity_days",
                    sid,
                    _days_text(before),
                    _days_text(caps[k]),
                    ids,
                    "days held by deployments outside this round",
                )
            )
        short = pin_load.get(sid, np.zeros(n_terms, np.int64)) > caps[k]
        if short.any():
            t = int(np.flatnonzero(short)[0])
            errors.add(
                "<ledger>",
                f"supporter {sid}: committed deployments in this round need "
                f"{pin_load[sid][t] / 100:g} days per week"
                + (f" in term {t + 1}" if n_terms > 1 else "")
                + f", but the scenario gives it {caps[k][t] / 100:g} after "
                f"{out_load.get(sid, np.zeros(n_terms, np.int64))[t] / 100:g} held elsewhere; "
                "raise its capacity or withdraw a deployment",
                column="capacity_days",
                value=sid,
            )
    errors.raise_if_any()
    _set_capacity(sup, caps, n_terms)
    sup = sup[keep].reset_index(drop=True)
    supporter_ids = set(sup["supporter_id"])

    # -- budgets: authority and programme, less what is held outside the round
    cost_out: dict[str, Decimal] = {}
    for d in outside.itertuples(index=False):
        share = in_round_share(d.start_term, d.end_term, n_terms)
        cost = (Decimal(d.cost_gbp) * share).quantize(Decimal("0.0001"))
        cost_out[d.la_code] = cost_out.get(d.la_code, Decimal(0)) + cost
    if len(aut) and "budget_gbp" in aut.columns:
        budgets = aut["budget_gbp"].to_numpy(float).copy()
        for k, code in enumerate(aut["la_code"]):
            spent = cost_out.get(code)
            if spent is None or np.isnan(budgets[k]):
                continue
            before = Decimal(repr(float(budgets[k])))
            after = max(before - spent, Decimal(0)).quantize(Decimal("0.01"), "ROUND_FLOOR")
            budgets[k] = float(after)
            adjustments.append(
                (
                    "authority_budget_gbp",
                    code,
                    f"{before:.2f}",
                    f"{after:.2f}",
                    f"{int((outside['la_code'] == code).sum())}",
                    "spent or reserved by deployments outside this round"
                    + ("; over-committed, so none is left" if before < spent else ""),
                )
            )
        aut["budget_gbp"] = budgets
    config = scenario.config
    total_out = sum(cost_out.values(), Decimal(0))
    if config.programme_budget_gbp is not None and total_out:
        before = Decimal(repr(float(config.programme_budget_gbp)))
        after = max(before - total_out, Decimal(0)).quantize(Decimal("0.01"), "ROUND_FLOOR")
        adjustments.append(
            (
                "programme_budget_gbp",
                "programme",
                f"{before:.2f}",
                f"{after:.2f}",
                f"{len(outside)}",
                "spent or reserved by deployments outside this round",
            )
        )
        config = _replace_config(config, programme_budget_gbp=float(after))

    # -- clients: left out, pinned at the contracted amounts, history columns
    cli = cli[cli["client_id"].isin(in_round)].reset_index(drop=True)
    row_of = {c: k for k, c in enumerate(cli["client_id"])}
    for d in pins.itertuples(index=False):  # the contract's days, weeks and terms
        k = row_of[d.client_id]
        col = (
            "second_need_days" if d.role == "second" and "second_need_days" in cli else "need_days"
        )
        cli.loc[k, col] = float(Decimal(d.days_per_week))
        if col == "need_days" and "second_need_days" in cli and cli.loc[k, "team_size"] == 1:
            cli.loc[k, "second_need_days"] = cli.loc[k, "need_days"]  # no second: same need
        if d.role == "lead":
            cli.loc[k, "weeks"] = int(d.weeks)
            if n_terms > 1 and not pd.isna(d.start_term) and "start_term" in cli:
                on = terms_of(d.start_term, d.end_term, n_terms)
                cli.loc[k, "start_term"] = on.start + 1
                cli.loc[k, "terms"] = len(on)

    # -- conflicts: the scenario's, plus every declined pair (never proposed again)
    declined = dep[
        (dep["stage"] == Stage.DECLINED)
        & dep["client_id"].isin(in_round)
        & dep["supporter_id"].isin(supporter_ids)
    ][["client_id", "supporter_id"]]
    own_pins = _with_role(scenario.pinned)
    own_pins = own_pins[
        own_pins["client_id"].isin(in_round - pinned_ids)
        & own_pins["supporter_id"].isin(supporter_ids)
    ]
    pinned_pairs = set(zip(pins["client_id"], pins["supporter_id"], strict=True)) | set(
        zip(own_pins["client_id"], own_pins["supporter_id"], strict=True)
    )
    declined = declined[
        [
            p not in pinned_pairs
            for p in zip(declined["client_id"], declined["supporter_id"], strict=True)
        ]
    ]
    con = scenario.conflicts[
        scenario.conflicts["client_id"].isin(in_round)
        & scenario.conflicts["supporter_id"].isin(supporter_ids)
    ]
    conflicts = (
        pd.concat([con[["client_id", "supporter_id"]], declined], ignore_index=True)
        .drop_duplicates()
        .reset_index(drop=True)
    )
    conflicts["role"] = "lead"
    conflict_pairs = set(zip(conflicts["client_id"], conflicts["supporter_id"], strict=True))

    # -- pinned: committed deployments, and the scenario's own pins for other clients
    pinned = pd.concat(
        [own_pins[list(PAIR_COLUMNS)], pins[list(PAIR_COLUMNS)]], ignore_index=True
    ).reset_index(drop=True)
    kinds = dict(zip(scenario.supporters["supporter_id"], scenario.supporters["kind"], strict=True))
    kept_kinds: dict[str, set[str]] = {}
    for c, sid in zip(pinned["client_id"], pinned["supporter_id"], strict=True):
        kept_kinds.setdefault(c, set()).add(str(kinds[sid]))
    _history_columns(cli, dep, rules, kept_kinds)

    # -- proposals to keep, and those that cannot be kept
    forced: dict[tuple[str, str], str] = {}
    keep_rows = []
    for d in props.itertuples(index=False):
        key = (d.client_id, d.role)
        if d.supporter_id not in set(scenario.supporters["supporter_id"]):
            forced[key] = f"supporter {d.supporter_id} is no longer in the scenario"
        elif d.supporter_id not in supporter_ids:
            forced[key] = (
                f"supporter {d.supporter_id} has no days left after deployments outside this round"
            )
        elif (d.client_id, d.supporter_id) in conflict_pairs:
            forced[key] = "the pair is listed in conflicts.csv"
        elif key in pinned_keys:
            forced[key] = "the client has a committed deployment in this role"
        elif d.client_id in set(own_pins["client_id"]):
            forced[key] = "the scenario's pinned.csv pins the client to another supporter"
        else:
            keep_rows.append((d.client_id, d.supporter_id, d.role))
    with_ledger = set(open_["client_id"])
    own_props = _with_role(scenario.proposals)
    for c, sid, role in own_props[list(PAIR_COLUMNS)].itertuples(index=False):
        if c in in_round and c not in with_ledger and c not in pinned_ids:
            if sid in supporter_ids and (c, sid) not in conflict_pairs:
                keep_rows.append((c, sid, role))  # the scenario's own proposals.csv
    proposals = pd.DataFrame(keep_rows, columns=list(PAIR_COLUMNS))

    base = {
        (d.client_id, d.role): Base(int(d.deployment_id), str(d.stage), str(d.supporter_id))
        for d in open_.itertuples(index=False)
        if d.client_id in in_round
    }
    derived = scenario.replace(
        config=_replace_config(
            config,
            name=f"{scenario.config.name} (top-up)",
            description=(
                f"Top-up of {scenario.config.name!r} derived by broker from the ledger at "
                f"version {ledger_version}: committed deployments pinned, declined pairs "
                "in conflicts, open proposals in proposals.csv, capacities and budgets "
                "less what deployments outside the round hold."
            ),
        ),
        supporters=sup,
        clients=cli,
        authorities=aut,
        conflicts=conflicts,
        pinned=pinned,
        proposals=proposals,
        source=None,
    )
    return TopUpPlan(
        scenario=derived,
        proposals=proposals,
        base=base,
        forced=forced,
        adjustments=pd.DataFrame(adjustments, columns=ADJUSTMENT_COLUMNS),
        left_out=left_out,
        ledger_version=ledger_version,
        pinned_deployments={d.client_id: int(d.deployment_id) for d in pins.itertuples()},
        declined_pairs=len(declined),
    )


def _replace_config(config: Config, **changes: object) -> Config:
    import dataclasses

    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]


def _split(v: object) -> list[str]:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    if isinstance(v, (list, tuple)):
        return [str(x) for x in v]
    return [p.strip() for p in str(v).split(";") if p.strip()]


def _history_columns(
    cli: pd.DataFrame,
    dep: pd.DataFrame,
    rules: tuple[HistoryRule, ...],
    kept_kinds: dict[str, set[str]] | None = None,
) -> None:
    """Fill ``previous_supporter_id`` and ``exclude_kinds`` from the ledger (in place).

    A value the user already gave is kept; ledger-derived exclusions are added to
    it. ``kept_kinds`` names, per client, the kinds of supporters the round pins to
    it: a rule never excludes the deployment that satisfies it (a LEEP school in
    delivery keeps its lead; it just gets no second one).
    """
    kept = kept_kinds or {}
    ids = list(cli["client_id"])
    mine = dep[dep["client_id"].isin(ids)].sort_values("deployment_id")
    done = mine[
        mine["stage"].isin([Stage.REPORTED.value, Stage.CLOSED.value]) & (mine["role"] == "lead")
    ]
    previous = dict(zip(done["client_id"], done["supporter_id"], strict=True))  # last one wins
    prev_col = (
        list(cli["previous_supporter_id"]) if "previous_supporter_id" in cli else [""] * len(cli)
    )
    cli["previous_supporter_id"] = [
        (str(p) if _split(p) else previous.get(c, "")) for c, p in zip(ids, prev_col, strict=True)
    ]
    excl_col = list(cli["exclude_kinds"]) if "exclude_kinds" in cli else [""] * len(cli)
    by_client: dict[str, list[str]] = {c: _split(v) for c, v in zip(ids, excl_col, strict=True)}
    for d in mine.itertuples(index=False):
        for rule in rules:
            if rule.applies(d.supporter_kind, d.mode, d.stage):
                for kind in rule.exclude_kinds:
                    if kind in kept.get(d.client_id, set()):
                        continue
                    if kind not in by_client[d.client_id]:
                        by_client[d.client_id].append(kind)
    cli["exclude_kinds"] = [tuple(by_client[c]) for c in ids]


# ---------------------------------------------------------------------------
# writing and explaining


def write_topup(plan: TopUpPlan, folder: str | Path) -> Path:
    """Write the derived scenario (with ``proposals.csv``) into ``folder``."""
    return write_scenario(plan.scenario, folder)


CHANGE_COLUMNS = ["client_id", "role", "before", "after", "change", "reason"]


def explain_changes(plan: TopUpPlan, outcomes: pd.DataFrame) -> pd.DataFrame:
    """What the top-up round did to each client's deployment, and why.

    ``change`` is ``kept`` (proposal unchanged), ``pinned`` (committed, unchanged),
    ``moved`` (proposal given to another supporter), ``dropped`` (proposal not
    kept, client unmatched), ``new`` (a client without a deployment matched), or
    ``unmatched`` (still without one).
    """
    after = {
        (str(r.client_id), str(r.role)): (str(r.supporter_id) if _has(r.supporter_id) else None)
        for r in outcomes.itertuples(index=False)
    }
    before = {k: b.supporter_id for k, b in plan.base.items()}
    gained_by: dict[str, list[str]] = {}
    for key, s in after.items():
        if s is not None and before.get(key) != s:
            gained_by.setdefault(s, []).append(key[0])
    prio = dict(
        zip(plan.scenario.clients["client_id"], plan.scenario.clients["priority"], strict=True)
    )
    rows = []
    for key in sorted(set(after) | set(before)):
        b, a = before.get(key), after.get(key)
        base = plan.base.get(key)
        if base is not None and base.deployment_id in set(plan.pinned_deployments.values()):
            rows.append((*key, b, a, "pinned", f"committed ({base.stage}); kept as contracted"))
            continue
        if b is None:
            rows.append((*key, b, a, "new" if a else "unmatched", ""))
            continue
        if a == b:
            rows.append((*key, b, a, "kept", ""))
            continue
        why = plan.forced.get(key)
        if why is None:
            took = sorted(c for c in gained_by.get(b, []) if c != key[0])
            if took:
                names = ", ".join(f"{c} (priority {prio.get(c, '?')})" for c in took)
                why = f"{b}'s days now go to {names}, which matches more priority in total"
            else:
                why = "the budget it used now funds clients that add more priority in total"
        rows.append((*key, b, a, "moved" if a else "dropped", why))
    out = pd.DataFrame(rows, columns=CHANGE_COLUMNS)
    out[["before", "after"]] = out[["before", "after"]].fillna("")
    return out


def _has(v: object) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and str(v) != ""
