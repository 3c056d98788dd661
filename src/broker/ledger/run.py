"""``broker run --db``: record a round in the ledger, and derive top-up rounds from it.

:class:`RoundRecorder` wraps the one pipeline without changing it:

1. :meth:`~RoundRecorder.prepare` opens the ledger. A plain round checks that it
   would not ignore agreed work. A top-up round derives its scenario from the
   ledger (:func:`broker.ledger.topup.derive_topup`), writes it to a staging
   folder and reads it back, so the round solves exactly the files that are
   stored with it (and copied to ``OUT/topup_scenario/``).
2. The caller runs :func:`broker.pipeline.run_round` on the scenario returned.
3. :meth:`~RoundRecorder.record` stores the round, its outcomes and the
   deployment changes in one transaction and returns the fields that
   ``summary.json`` gains (``round_id``, ``ledger``, ``topup``).
4. :meth:`~RoundRecorder.write_files` writes ``topup_scenario/`` and
   ``topup_changes.csv`` (and the adjustments and left-out tables when there are
   any) beside the outputs; :meth:`~RoundRecorder.close` removes the staging folder.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import uuid
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from broker.csvtext import write_csv
from broker.errors import InputError
from broker.ledger import repository as repo
from broker.ledger.db import Ledger, open_ledger
from broker.ledger.models import utcnow
from broker.ledger.stages import OCCUPYING
from broker.ledger.topup import TopUpPlan, derive_topup, explain_changes, write_topup
from broker.pipeline import MatchingRound
from broker.scenario.model import Scenario

TOPUP_FOLDER = "topup_scenario"


def outcome_table(rnd: MatchingRound) -> pd.DataFrame:
    """A round's outcomes with what the ledger records (:data:`repository.OUTCOME_FIELDS`)."""
    t = rnd.outcomes
    sc = rnd.scenario
    cli = sc.clients.drop_duplicates("client_id").set_index("client_id")
    sup = sc.supporters.drop_duplicates("supporter_id").set_index("supporter_id")
    sid = t["supporter_id"].fillna("").astype(str)
    matched = sid != ""
    cids = t["client_id"].astype(str)
    out = pd.DataFrame(
        {
            "client_id": cids,
            "role": t["role"].fillna("").astype(str).replace("", "lead") if "role" in t else "lead",
            "supporter_id": sid.where(matched, None),
            "status": t["status"].astype(str),
            "la_code": cli.loc[cids, "la_code"].to_numpy(),
            "priority": cli.loc[cids, "priority"].to_numpy(np.int64),
            "need_days": cli.loc[cids, "need_days"].to_numpy(float),
            "days_per_week": t["days_per_week"].to_numpy(float),
            "cost_gbp": t["cost_gbp"].to_numpy(float),
            "distance_km": t["distance_km"].to_numpy(float),
            "reason_code": t["reason_code"].fillna("").astype(str),
            "weeks": cli.loc[cids, "weeks"].to_numpy(np.int64),
        }
    )
    known = sid[matched]
    kind = pd.Series(None, index=out.index, dtype=object)
    kind[matched] = sup.loc[known, "kind"].to_numpy()
    sla = pd.Series(None, index=out.index, dtype=object)
    sla[matched] = sup.loc[known, "la_code"].to_numpy()
    out["supporter_kind"] = kind
    out["supporter_la_code"] = sla
    mode = pd.Series(None, index=out.index, dtype=object)
    if "mode" in t:
        mode = t["mode"].where(t["mode"].fillna("") != "", None)
    elif "mode" in sup.columns:
        mode[matched] = sup.loc[known, "mode"].to_numpy()
    out["mode"] = mode
    start = pd.Series(None, index=out.index, dtype=object)
    end = pd.Series(None, index=out.index, dtype=object)
    if "start_term" in cli.columns and getattr(sc.config, "terms", 1) > 1:
        s = pd.to_numeric(cli.loc[cids, "start_term"], errors="coerce").to_numpy(float)
        n = (
            pd.to_numeric(cli.loc[cids, "terms"], errors="coerce").to_numpy(float)
            if "terms" in cli.columns
            else np.ones(len(cids))
        )
        ok = ~np.isnan(s)
        start[ok] = s[ok].astype(np.int64)
        e = s + np.where(np.isnan(n), 1, n) - 1
        end[ok] = e[ok].astype(np.int64)
    out["start_term"] = start
    out["end_term"] = end
    return out


class RoundRecorder:
    """Records one ``broker run`` in the ledger (see the module docstring)."""

    def __init__(
        self,
        *,
        db: str | None,
        user: str | None,
        name: str | None,
        top_up: bool,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.ledger: Ledger = open_ledger(db)
        self.user = repo.current_user(user)
        self.name = name
        self.top_up = top_up
        self.say = progress or (lambda _m: None)
        self.run_id = uuid.uuid4().hex
        self.started_at = utcnow()
        self.plan: TopUpPlan | None = None
        self.files: repo.ScenarioFiles | None = None
        self.base_files: repo.ScenarioFiles | None = None
        self.version = 0
        self.changes: pd.DataFrame | None = None
        self.recorded: repo.Recorded | None = None
        self._stage: Path | None = None

    # ------------------------------------------------------------------ before
    def prepare(self, scenario: Scenario, out: Path) -> Scenario:
        """The scenario to solve: ``scenario`` itself, or the derived top-up scenario."""
        if scenario.source is None:
            raise InputError.one("<arguments>", "a recorded round needs a scenario folder")
        if not Path(scenario.source).is_dir():  # a workbook: the ledger stores a folder's files
            raise InputError.one(
                str(scenario.source),
                "a recorded round (--db, --top-up, --round-name) needs a scenario folder, "
                "whose CSV and TOML files the ledger stores; expected a folder: save each "
                "sheet of the workbook as 'CSV UTF-8' in one folder (docs/scenario-format.md), "
                "or run without --db",
            )
        files = repo.ScenarioFiles.from_folder(scenario.source, scenario.name)
        with self.ledger.session() as s:
            self.version = repo.version(s)
            if not self.top_up:
                self._check_plain(s, scenario)
                self.files = files
                self.say(f"ledger {self.ledger.display_url}: recording a plain round")
                return scenario
            deployments = repo.deployments_frame(s)
        from broker.scenario import read_scenario

        self.base_files = files
        self.plan = derive_topup(scenario, deployments, ledger_version=self.version)
        # Staged outside --out (which is written whole at the end), read back so the
        # round solves exactly the stored files, then copied to OUT/topup_scenario.
        self._stage = Path(tempfile.mkdtemp(prefix="broker-topup-"))
        weakref.finalize(self, shutil.rmtree, self._stage, True)  # also if the round fails
        folder = write_topup(self.plan, self._stage / TOPUP_FOLDER)
        derived = read_scenario(folder)
        self.out = Path(out)
        files = repo.ScenarioFiles.from_folder(folder, derived.name)
        self.files = dataclasses.replace(files, source=str((self.out / TOPUP_FOLDER).resolve()))
        p = self.plan
        self.say(
            f"ledger {self.ledger.display_url}: top-up of ledger version {self.version}: "
            f"{len(p.pinned_deployments)} pinned, {len(p.proposals)} proposals to keep, "
            f"{p.declined_pairs} declined pairs excluded, {len(p.left_out)} clients left out"
        )
        return derived

    def explain(self, exc: InputError) -> InputError:
        """``exc`` with problems in the derived top-up scenario named for the user.

        The derived scenario is staged in a temporary folder the user never sees, and
        its ``pinned.csv`` holds the ledger's committed deployments, not rows the user
        wrote: each such problem names the ledger and the derived file (as
        ``OUT/topup_scenario`` holds it after a round), and says how to resolve a
        commitment that cannot be kept.
        """
        if self._stage is None:
            return exc
        stage = str(self._stage / TOPUP_FOLDER)
        problems = []
        for q in exc.problems:
            if not q.file.startswith(stage):
                problems.append(q)
                continue
            name = Path(q.file).name
            message = q.message
            if name == "pinned.csv":
                message += (
                    "; this pin is a deployment the ledger holds as committed (contracted or "
                    "in_delivery): change the scenario so that it can be kept, or withdraw it "
                    "with 'broker stage CLIENT_ID withdrawn --reason TEXT' (add --role "
                    "second for a second supporter)"
                )
            problems.append(
                dataclasses.replace(
                    q,
                    file=f"top-up scenario derived from {self.ledger.display_url}, {name}",
                    message=message,
                )
            )
        return InputError(problems)

    def _check_plain(self, session: Any, scenario: Scenario) -> None:
        blockers = repo.plain_round_blockers(session, scenario.clients["client_id"])
        sids = set(scenario.supporters["supporter_id"])
        busy = [
            d
            for d in repo.open_deployments(session).values()
            if d.stage in OCCUPYING and d.supporter_id in sids and d not in blockers
        ]
        if not blockers and not busy:
            return
        lines = [
            f"client {d.client_id} has deployment #{d.id} at stage {d.stage} "
            f"(supporter {d.supporter_id}, round {d.round_id})"
            for d in blockers
        ] + [
            f"supporter {d.supporter_id} is committed to client {d.client_id} "
            f"(deployment #{d.id}, {d.stage})"
            for d in sorted(busy, key=lambda d: d.id)
        ]
        shown = lines[:10] + ([f"... and {len(lines) - 10} more"] if len(lines) > 10 else [])
        raise InputError.one(
            self.ledger.display_url,
            "the ledger already holds agreed work for this scenario, which a plain round "
            "would ignore; run with --top-up to keep it:\n  " + "\n  ".join(shown),
        )

    # ------------------------------------------------------------------- after
    def record(self, rnd: MatchingRound, parameters: dict[str, Any]) -> dict[str, Any]:
        """Record the round; return the fields ``summary.json`` gains."""
        from broker.report import summary

        assert self.files is not None, "prepare() first"
        outcomes = outcome_table(rnd)
        changes: dict[tuple[str, str], str] = {}
        if self.plan is not None:
            self.changes = explain_changes(self.plan, outcomes)
            for r in self.changes.itertuples(index=False):
                if r.change in ("moved", "dropped"):
                    changes[(r.client_id, r.role)] = r.reason
        res = rnd.result
        self.run_id = str(getattr(rnd, "run_id", None) or self.run_id)
        self.started_at = getattr(rnd, "started_at", None) or self.started_at
        data = repo.RoundInput(
            run_id=self.run_id,
            kind="top_up" if self.top_up else "plain",
            name=self.name,
            scenario=self.files,
            base_scenario=self.base_files,
            parameters=parameters,
            seed=int(res.seed),
            solver=res.solver,
            solver_status=res.status.value,
            stopped_by=res.stopped_by,
            priority_matched=int(res.level1.value),
            priority_bound=int(res.level1.bound),
            level2_value=int(res.level2.value),
            level2_bound=int(res.level2.bound),
            summary=summary(rnd),
            outcomes=outcomes,
            started_at=self.started_at,
            finished_at=utcnow(),
            user=self.user,
            ledger_version=self.version,
            out_dir=str(Path(parameters.get("out", "")).resolve())
            if parameters.get("out")
            else None,
            base=dict(self.plan.base) if self.plan else {},
            changes=changes,
        )
        with self.ledger.session() as s:
            self.recorded = repo.record_round(s, data)
        return self.summary_fields()

    def summary_fields(self) -> dict[str, Any]:
        rec = self.recorded
        assert rec is not None
        fields: dict[str, Any] = {
            "round_id": rec.round_id,
            "ledger": {
                "url": self.ledger.display_url,
                "kind": "top_up" if self.top_up else "plain",
                "name": self.name,
                "run_by": self.user,
                **rec.as_dict(),
            },
        }
        if self.plan is not None and self.changes is not None:
            fields["scenario_dir"] = self.files.source if self.files else None
            c = self.changes["change"]
            reasons = (
                self.changes.loc[c.isin(["moved", "dropped"]), "reason"].value_counts().to_dict()
            )
            keys = list(zip(self.changes["client_id"], self.changes["role"], strict=True))
            forced = pd.Series([k in self.plan.forced for k in keys], index=self.changes.index)
            offered = c.isin(["kept", "moved", "dropped"]) & ~forced
            fields["topup"] = {
                "ledger_version": self.plan.ledger_version,
                "pinned": int((c == "pinned").sum()),
                "proposals_offered": int(len(self.plan.proposals)),
                "proposals_kept": int((offered & (c == "kept")).sum()),
                "proposals_changed": int((offered & c.isin(["moved", "dropped"])).sum()),
                "proposals_moved": int((offered & (c == "moved")).sum()),
                "proposals_dropped": int((offered & (c == "dropped")).sum()),
                "proposals_forced": int(len(self.plan.forced)),
                "new_matches": int((c == "new").sum()),
                "declined_pairs_excluded": int(self.plan.declined_pairs),
                "clients_left_out": int(len(self.plan.left_out)),
                "adjustments": int(len(self.plan.adjustments)),
                "change_reasons": {str(k): int(v) for k, v in reasons.items()},
            }
        return fields

    def write_files(self, folder: Path) -> list[str]:
        """Write the top-up tables into ``folder`` (the run's outputs); return their names."""
        if self.plan is None or self.changes is None:
            return []
        folder = Path(folder)
        names = []
        if self.files is not None:
            (folder / TOPUP_FOLDER).mkdir(parents=True, exist_ok=True)
            for fname, content in self.files.files:
                (folder / TOPUP_FOLDER / fname).write_bytes(content)
            names.append(TOPUP_FOLDER)
        tables = [
            ("topup_changes.csv", self.changes),
            ("topup_adjustments.csv", self.plan.adjustments),
            ("topup_left_out.csv", self.plan.left_out),
        ]
        for name, frame in tables:
            if len(frame) or name == "topup_changes.csv":
                write_csv(frame, folder / name)
                names.append(name)
        return names

    def format(self) -> str:
        """Lines for the terminal summary."""
        rec = self.recorded
        assert rec is not None
        kind = "top-up" if self.top_up else "plain"
        lines = [
            f"  ledger: round {rec.round_id} ({kind}"
            + (f", {self.name!r}" if self.name else "")
            + f") recorded in {self.ledger.display_url} by {self.user}: "
            f"{rec.created} new proposal(s)"
            + (f", {rec.replaced} earlier proposal(s) replaced" if rec.replaced else "")
        ]
        f = self.summary_fields().get("topup")
        if f:
            lines.append(
                f"  top-up: {f['pinned']} committed kept, {f['proposals_kept']} of "
                f"{f['proposals_offered']} open proposals kept, "
                f"{f['proposals_changed']} changed ({f['proposals_moved']} moved, "
                f"{f['proposals_dropped']} dropped)"
                + (f", {f['proposals_forced']} could not be kept" if f["proposals_forced"] else "")
                + f", {f['new_matches']} new; "
                f"{f['declined_pairs_excluded']} declined pair(s) never re-proposed"
            )
            for r in self.changes.itertuples(index=False) if self.changes is not None else ():
                if r.change in ("moved", "dropped"):
                    lines.append(
                        f"    {r.client_id}: {r.before} -> {r.after or 'unmatched'}: {r.reason}"
                    )
        for c, _role, why in rec.skipped:
            lines.append(f"  not recorded for {c}: {why}")
        return "\n".join(lines)

    def close(self) -> None:
        self.ledger.close()
        if self._stage is not None:
            shutil.rmtree(self._stage, ignore_errors=True)
