"""Each programme's own round, generated from the real register.

``broker scenario nle|leading-together|leep|leading-edge [--seed N] [--region R]
[--la CODE ...] --out DIR``; one module per programme, each citing its document
(``docs/programmes.md``). :data:`PROGRAMMES` maps the command-line name to the
module; :func:`build` runs one.
"""

from __future__ import annotations

import argparse
import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing this package stays cheap: the CLI imports it at start
    from broker.generate.programmes.common import ProgrammeOptions
    from broker.scenario import Scenario

PROGRAMMES: dict[str, str] = {
    "nle": "nle",
    "leading-together": "leading_together",
    "leep": "leep",
    "leading-edge": "leading_edge",
}
"""Command-line name -> module of :mod:`broker.generate.programmes`."""

__all__ = ["PROGRAMMES", "add_options", "build", "build_from_args"]


def build(programme: str, options: ProgrammeOptions | None = None) -> Scenario:
    """Build the round of ``programme`` (a key of :data:`PROGRAMMES`)."""
    from broker.generate.programmes.common import ProgrammeOptions

    module = importlib.import_module(f"broker.generate.programmes.{PROGRAMMES[programme]}")
    return module.build(options or ProgrammeOptions())  # type: ignore[no-any-return]


def add_options(parser: argparse.ArgumentParser) -> None:
    """Options of ``broker scenario`` that only the programme rounds take."""
    parser.add_argument(
        "--no-school-isolated",
        action="store_true",
        help="leep: make 'no school is isolated' a level-1 rule ([objective] no_school_isolated)",
    )


def build_from_args(args: argparse.Namespace) -> Scenario:
    """:func:`build` from the parsed ``broker scenario`` arguments."""
    from broker.errors import InputError
    from broker.generate.programmes.common import ProgrammeOptions

    if getattr(args, "scale", 1.0) != 1.0:
        raise InputError.one(
            "<arguments>",
            "--scale applies to england only; a programme round uses the register as it is",
            column="--scale",
            value=args.scale,
        )
    return build(
        args.area,
        ProgrammeOptions(
            seed=args.seed,
            region=args.region,
            la_codes=tuple(args.la or ()),
            max_distance_km=args.max_distance_km,
            name=args.name,
            budgets=not args.no_budgets,
            no_school_isolated=args.no_school_isolated,
        ),
    )
