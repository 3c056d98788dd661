"""``broker serve`` and ``broker user add``.

Wire into :mod:`broker.cli` with ``register(sub)``. Nothing heavy is imported until
a command runs.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from broker.argtypes import positive_float, positive_int
from broker.errors import InputError

DB_HELP = (
    "ledger database: a SQLite file path, sqlite:///PATH or "
    "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB (default $BROKER_DB, else ./broker.db)"
)


def _port(text: str) -> int:
    """``--port``: a TCP port, 1 to 65535."""
    v = positive_int(text)
    if v > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return v


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``serve`` and ``user`` on the ``broker`` command's subparsers."""
    sv = sub.add_parser(
        "serve",
        help="serve the web pages and the API on the ledger",
        description="Serve broker's pages and JSON API (OpenAPI schema at /openapi.json) on "
        "the ledger. Create users first with 'broker user add'.",
    )
    sv.add_argument("--db", metavar="URL", help=DB_HELP)
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    sv.add_argument(
        "--jobs",
        type=positive_int,
        default=1,
        metavar="N",
        help="rounds and what-ifs solved at once, each in its own process (default 1)",
    )
    sv.add_argument(
        "--time-limit",
        type=positive_float,
        default=20.0,
        metavar="SECONDS",
        help="default solving time of a round or what-if (default 20)",
    )
    sv.add_argument(
        "--secure-cookies", action="store_true", help="mark cookies Secure (behind HTTPS)"
    )
    sv.set_defaults(func=cmd_serve)

    us = sub.add_parser("user", help="manage the service's users")
    usub = us.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = usub.add_parser(
        "add",
        help="create a user and print its API token",
        description="Create a user of the web service. The API token is printed on the "
        "last line, once: only its SHA-256 is stored. A password (for the pages) is "
        "stored as an argon2 hash.",
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument("--role", required=True, choices=("programme", "la", "supporter", "viewer"))
    add.add_argument(
        "--la", action="append", default=[], metavar="CODE", help="LA code (role la; repeatable)"
    )
    add.add_argument(
        "--supporter",
        action="append",
        default=[],
        metavar="ID",
        help="supporter id (role supporter; repeatable)",
    )
    pw = add.add_mutually_exclusive_group()
    pw.add_argument(
        "--password", action="store_true", help="ask for a password for the pages (prompt)"
    )
    pw.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.add_argument("--db", metavar="URL", help=DB_HELP)
    add.add_argument("--user", metavar="NAME", help="who is adding (default your login)")
    add.set_defaults(func=cmd_user_add)


def _password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        text = sys.stdin.readline().rstrip("\r\n")
        if not text:
            raise InputError.one("<stdin>", "no password on standard input", column="--password")
        return text
    if args.password:
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Again: "):
            raise InputError.one("<prompt>", "the two passwords differ", column="--password")
        return first
    return None


def cmd_user_add(args: argparse.Namespace) -> int:
    from broker.ledger import repository as repo
    from broker.ledger.db import open_ledger
    from broker.service.users import add_user

    password = _password(args)
    ledger = open_ledger(args.db)
    try:
        with ledger.session() as s:
            new = add_user(
                s,
                args.name,
                args.role,
                la_codes=args.la,
                supporter_ids=args.supporter,
                password=password,
                created_by=repo.current_user(args.user),
            )
    finally:
        ledger.close()
    extra = f" for LA {', '.join(args.la)}" if args.la else ""
    extra += f" for supporter {', '.join(args.supporter)}" if args.supporter else ""
    print(
        f"user {new.name} ({new.role}{extra}) added to {ledger.display_url}"
        + ("; password set" if password else "; no password (API token only)")
    )
    print("API token (shown once; send it as 'Authorization: Bearer TOKEN'):")
    print(new.token)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from broker.service.app import create_app
    from broker.service.config import Settings

    settings = Settings(
        db=args.db,
        max_jobs=args.jobs,
        time_limit_s=args.time_limit,
        secure_cookies=args.secure_cookies,
    )
    app = create_app(settings)
    print(
        f"broker serving {app.state.broker.ledger.display_url} on http://{args.host}:{args.port}/ "
        f"(API schema at /openapi.json); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
