"""Ledger commands: ``broker stage``, ``deployments``, ``rounds``, ``history``, ``audit``,
``diff`` and ``recommend``, and the ``--db``, ``--round-name``, ``--top-up`` and
``--user`` options of ``broker run``.

Wire into :mod:`broker.cli` with ``add_run_options(run)`` and
``add_subcommands(sub)``. Nothing heavy is imported until a command runs.
Every command takes ``--db URL`` (default ``$BROKER_DB``, else ``./broker.db``)
and ``--user NAME`` (default ``$BROKER_USER``, else the login name).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from broker.argtypes import DB_INT_MAX, positive_int, record_id
from broker.errors import InputError

DB_HELP = (
    "ledger database: a SQLite file path, sqlite:///PATH or "
    "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB (default $BROKER_DB, else ./broker.db)"
)


def _db_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="URL", help=DB_HELP)
    p.add_argument(
        "--user", metavar="NAME", help="who is acting (default $BROKER_USER, else your login)"
    )


def add_run_options(run: argparse.ArgumentParser) -> None:
    """The ledger options of ``broker run``."""
    g = run.add_argument_group(
        "ledger", "record the round (any of these options turns recording on)"
    )
    g.add_argument("--db", metavar="URL", help="record the round in this ledger; " + DB_HELP)
    g.add_argument("--round-name", metavar="NAME", help="a name for the recorded round")
    g.add_argument(
        "--top-up",
        action="store_true",
        help="a top-up round: keep contracted deployments, never re-propose declined pairs, "
        "keep open proposals unless moving them matches more priority",
    )
    g.add_argument(
        "--user", metavar="NAME", help="who runs the round (default $BROKER_USER, else your login)"
    )


def add_subcommands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the ledger commands on ``sub``."""
    from broker.ledger.stages import Stage

    stages = ", ".join(s.value for s in Stage)
    st = sub.add_parser(
        "stage",
        help="move a client's current deployment to another stage",
        description="Move a client's current deployment to STAGE (one of: "
        f"{stages}). Forward moves go one stage at a time (or use --through); declined "
        "is allowed before contracted, withdrawn before closed and needs --reason.",
    )
    st.add_argument("client_id", metavar="CLIENT_ID")
    st.add_argument("stage", metavar="STAGE")
    st.add_argument("--note", metavar="TEXT", help="a note for the history")
    st.add_argument("--reason", metavar="TEXT", help="why (required for withdrawn)")
    st.add_argument(
        "--round",
        type=record_id,
        metavar="ID",
        help="refuse unless the deployment is from round ID",
    )
    st.add_argument("--role", choices=("lead", "second"), default="lead")
    st.add_argument(
        "--through",
        action="store_true",
        help="move forward through every stage up to STAGE, recording each",
    )
    _db_options(st)
    st.set_defaults(func=cmd_stage)

    dp = sub.add_parser("deployments", help="list deployments")
    dp.add_argument("--stage", metavar="S", action="append", help="only this stage (repeatable)")
    dp.add_argument("--la", metavar="CODE", help="only clients of this local authority")
    dp.add_argument("--client", metavar="ID", help="only this client")
    dp.add_argument("--round", type=record_id, metavar="ID", help="only from this round")
    dp.add_argument(
        "--all", action="store_true", help="include closed, declined and withdrawn deployments"
    )
    dp.add_argument("--csv", metavar="FILE", help="also write the list to FILE")
    _db_options(dp)
    dp.set_defaults(func=cmd_deployments)

    rd = sub.add_parser("rounds", help="list recorded rounds")
    _db_options(rd)
    rd.set_defaults(func=cmd_rounds)

    hi = sub.add_parser("history", help="a client's deployments and every stage change")
    hi.add_argument("client_id", metavar="CLIENT_ID")
    _db_options(hi)
    hi.set_defaults(func=cmd_history)

    au = sub.add_parser("audit", help="the audit log, newest last")
    au.add_argument("--limit", type=record_id, default=50, metavar="N")
    _db_options(au)
    au.set_defaults(func=cmd_audit)

    df = sub.add_parser(
        "diff",
        help="compare two rounds: run folders or round ids",
        description="Compare two rounds, given as run folders (written by broker run) or "
        "round ids (with --db): who gained, lost or changed supporter, and per-authority "
        "deltas of priority, cost, mean distance and need met. Writes diff.csv and "
        "diff_authorities.csv.",
    )
    df.add_argument("a", metavar="A", help="run folder or round id (before)")
    df.add_argument("b", metavar="B", help="run folder or round id (after)")
    df.add_argument("--out", metavar="DIR", default=".", help="folder for the CSVs (default .)")
    df.add_argument(
        "--scenario", metavar="DIR", help="scenario of run folders that do not record it"
    )
    df.add_argument("--rows", type=positive_int, default=15, metavar="N", help="rows to print")
    _db_options(df)
    df.set_defaults(func=cmd_diff)

    rc = sub.add_parser(
        "recommend",
        help="the best supporters for one urgent request, given all current commitments",
    )
    rc.add_argument("client_id", metavar="CLIENT_ID")
    rc.add_argument("--scenario", required=True, metavar="SCENARIO_DIR")
    rc.add_argument("--top", type=positive_int, default=5, metavar="K")
    rc.add_argument("--csv", metavar="FILE", help="also write the table to FILE")
    _db_options(rc)
    rc.set_defaults(func=cmd_recommend)


def _open(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The ledger these commands read or change: it must exist (a round made it)."""
    from broker.ledger.db import open_ledger

    return open_ledger(args.db, existing=True)


def cmd_stage(args: argparse.Namespace) -> int:
    from broker.ledger import repository as repo
    from broker.ledger.stages import parse_stage

    target = parse_stage(args.stage)
    ledger = _open(args)
    user = repo.current_user(args.user)
    try:
        with ledger.session() as s:
            dep, moves = repo.move_stage(
                s,
                args.client_id,
                target,
                user=user,
                note=args.note,
                reason=args.reason,
                round_id=args.round,
                role=args.role,
                through=args.through,
            )
            text = " -> ".join([moves[0][0]] + [m[1] for m in moves])
            print(
                f"{args.client_id}: deployment #{dep.id} (supporter {dep.supporter_id}, "
                f"round {dep.round_id}) {text}; recorded by {user}"
            )
    finally:
        ledger.close()
    return 0


def _write_csv(frame, path: str) -> None:  # type: ignore[no-untyped-def]
    """Write ``frame`` to the ``--csv`` file ``path`` (see :func:`check_replaceable`)."""
    from broker.csvtext import check_replaceable, write_csv

    target = Path(path)
    check_replaceable(target, frame.columns, "--csv")
    if not target.parent.is_dir():
        raise InputError.one(path, "folder does not exist", column="--csv")
    write_csv(frame, target)


def cmd_deployments(args: argparse.Namespace) -> int:
    from broker.ledger import repository as repo
    from broker.ledger.stages import parse_stage

    stages = [parse_stage(s, column="--stage") for s in args.stage or []]
    ledger = _open(args)
    try:
        with ledger.session() as s:
            t = repo.deployments_frame(
                s,
                stages=stages or None,
                la_code=args.la,
                client_id=args.client,
                round_id=args.round,
                include_final=args.all,
            )
    finally:
        ledger.close()
    if args.csv:
        _write_csv(t, args.csv)
    print(f"{len(t)} deployment(s) in {ledger.display_url}")
    if len(t):
        print(
            f"  {'#':>4} {'client':<12} {'role':<6} {'supporter':<12} {'la':<4} {'stage':<14} "
            f"{'days':>5} {'cost £':>12} {'round':>5}"
        )
        for r in t.itertuples(index=False):
            print(
                f"  {r.deployment_id:>4} {r.client_id:<12} {r.role:<6} {r.supporter_id:<12} "
                f"{r.la_code:<4} {r.stage:<14} {r.days_per_week:>5} {r.cost_gbp:>12,.2f} "
                f"{r.round_id:>5}"
            )
    return 0


def cmd_rounds(args: argparse.Namespace) -> int:
    from broker.ledger import repository as repo

    ledger = _open(args)
    try:
        with ledger.session() as s:
            rounds = repo.rounds(s)
            print(f"{len(rounds)} round(s) in {ledger.display_url}")
            for r in rounds:
                print(
                    f"  {r.id:>3} {r.kind:<6} {r.name or '':<20} {r.started_at:%Y-%m-%d %H:%M} "
                    f"by {r.run_by}: matched {r.matched}, priority {r.priority_matched} "
                    f"(bound {r.priority_bound}), {r.solver_status}, seed {r.seed}, "
                    f"scenario #{r.scenario_id}"
                )
    finally:
        ledger.close()
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from broker.ledger import repository as repo

    ledger = _open(args)
    try:
        with ledger.session() as s:
            t = repo.deployments_frame(s, client_id=args.client_id)
            if t.empty:
                raise InputError.one(
                    "<arguments>",
                    "no deployment recorded for this client",
                    column="CLIENT_ID",
                    value=args.client_id,
                )
            for r in t.itertuples(index=False):
                print(
                    f"#{r.deployment_id} {r.client_id} ({r.role}) with {r.supporter_id}: "
                    f"{r.stage}; "
                    f"round {r.round_id}, {r.days_per_week} days/week x {r.weeks} weeks, "
                    f"£{r.cost_gbp:,.2f}"
                )
                for h in repo.stage_history(s, int(r.deployment_id)):
                    print(
                        f"    {h.at:%Y-%m-%d %H:%M:%S} {h.user}: {h.from_stage or '-'} -> "
                        f"{h.to_stage}" + (f" ({h.note})" if h.note else "")
                    )
    finally:
        ledger.close()
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from broker.ledger import repository as repo

    ledger = _open(args)
    try:
        with ledger.session() as s:
            for e in repo.audit_entries(s, limit=args.limit):
                ref = " ".join(
                    x
                    for x in (
                        f"round {e.round_id}" if e.round_id else "",
                        f"deployment #{e.deployment_id}" if e.deployment_id else "",
                        e.client_id or "",
                    )
                    if x
                )
                print(f"{e.id:>5} {e.at:%Y-%m-%d %H:%M:%S} {e.user}: {e.action} {ref}")
    finally:
        ledger.close()
    return 0


def _view(arg: str, args: argparse.Namespace, ledger_holder: list):  # type: ignore[no-untyped-def]
    from broker.ledger import diff as d

    if arg.isdigit() and not Path(arg).is_dir():
        if int(arg) > DB_INT_MAX:
            raise InputError.one(
                "<arguments>", "no round with this id in the ledger (ids are below 2^63)", value=arg
            )
        if not ledger_holder:
            ledger_holder.append(_open(args))
        with ledger_holder[0].session() as s:
            return d.view_from_round(s, int(arg))
    if not Path(arg).exists():
        raise InputError.one(
            arg,
            "neither a run folder nor a round id; expected a folder written by broker run "
            "or a whole number (with --db)",
        )
    return d.view_from_folder(arg, args.scenario)


def cmd_diff(args: argparse.Namespace) -> int:
    from broker.ledger import diff as d

    holder: list = []
    try:
        before = _view(args.a, args, holder)
        after = _view(args.b, args, holder)
    finally:
        for ledger in holder:
            ledger.close()
    result = d.diff(before, after)
    paths = d.write_diff(result, args.out)
    print(d.format_diff(result, max_rows=args.rows))
    print("  wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    from broker.ledger import repository as repo
    from broker.ledger.recommend import format_recommendations, recommend
    from broker.scenario import read_scenario

    scenario = read_scenario(args.scenario)
    ledger = _open(args)
    try:
        with ledger.session() as s:
            deployments = repo.deployments_frame(s)
    finally:
        ledger.close()
    r = recommend(scenario, deployments, args.client_id, top=args.top)
    if args.csv:
        _write_csv(r.table, args.csv)
    print(format_recommendations(r))
    return 0
