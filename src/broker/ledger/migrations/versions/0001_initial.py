"""The initial ledger schema: scenarios, rounds, outcomes, deployments, stages, audit.

Revision ID: 0001
Revises:
Create Date: 2026-12-02

Written by hand from ``alembic revision --autogenerate`` output, with plain column
types (a migration must not import the models it describes, since they change
later) and with the triggers that make ``audit_log`` and ``stage_changes``
append-only. ``tests/test_ledger_db.py`` checks that this migration gives exactly
the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAGES = (
    "'proposed', 'scoped', 'due_diligence', 'costed', 'contracted', 'in_delivery', "
    "'reported', 'closed', 'declined', 'withdrawn'"
)
TERMINAL = "'closed', 'declined', 'withdrawn'"
APPEND_ONLY = ("audit_log", "stage_changes")


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ledger_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_state")),
    )
    op.execute("INSERT INTO ledger_state (id, version) VALUES (1, 0)")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("user", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.Column("client_id", sa.String(length=100), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_action"), "audit_log", ["action"])
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=True),
        sa.Column("recorded_at", _when(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenarios")),
        sa.UniqueConstraint("sha256", name=op.f("uq_scenarios_sha256")),
    )
    op.create_table(
        "scenario_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scenario_id"],
            ["scenarios.id"],
            name=op.f("fk_scenario_files_scenario_id_scenarios"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_files")),
        sa.UniqueConstraint(
            "scenario_id", "filename", name=op.f("uq_scenario_files_scenario_id_filename")
        ),
    )
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("base_scenario_id", sa.Integer(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("solver", sa.String(length=40), nullable=False),
        sa.Column("solver_status", sa.String(length=20), nullable=False),
        sa.Column("stopped_by", sa.String(length=40), nullable=False),
        sa.Column("priority_matched", sa.BigInteger(), nullable=False),
        sa.Column("priority_bound", sa.BigInteger(), nullable=False),
        sa.Column("level2_value", sa.BigInteger(), nullable=False),
        sa.Column("level2_bound", sa.BigInteger(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("ledger_version", sa.BigInteger(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("out_dir", sa.String(length=1000), nullable=True),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("finished_at", _when(), nullable=False),
        sa.Column("recorded_at", _when(), nullable=False),
        sa.Column("run_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint("kind IN ('plain', 'top_up')", name=op.f("ck_rounds_kind")),
        sa.ForeignKeyConstraint(
            ["base_scenario_id"],
            ["scenarios.id"],
            name=op.f("fk_rounds_base_scenario_id_scenarios"),
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"], ["scenarios.id"], name=op.f("fk_rounds_scenario_id_scenarios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
        sa.UniqueConstraint("run_id", name=op.f("uq_rounds_run_id")),
    )
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("supporter_id", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("supporter_kind", sa.String(length=40), nullable=True),
        sa.Column("mode", sa.String(length=40), nullable=True),
        sa.Column("la_code", sa.String(length=3), nullable=False),
        sa.Column("supporter_la_code", sa.String(length=3), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("days_per_week_x100", sa.BigInteger(), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column("start_term", sa.Integer(), nullable=True),
        sa.Column("end_term", sa.Integer(), nullable=True),
        sa.Column("cost_gbp_x10000", sa.BigInteger(), nullable=False),
        sa.Column("distance_km_x100", sa.BigInteger(), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.CheckConstraint(
            f"(stage IN ({TERMINAL}) AND is_open IS NULL) OR "
            f"(stage NOT IN ({TERMINAL}) AND is_open IS NOT NULL AND is_open)",
            name=op.f("ck_deployments_is_open"),
        ),
        sa.CheckConstraint("role IN ('lead', 'second')", name=op.f("ck_deployments_role")),
        sa.CheckConstraint(f"stage IN ({STAGES})", name=op.f("ck_deployments_stage")),
        sa.CheckConstraint(
            "days_per_week_x100 > 0 AND weeks > 0 AND cost_gbp_x10000 >= 0",
            name=op.f("ck_deployments_amounts"),
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"],
            ["deployments.id"],
            name=op.f("fk_deployments_replaces_id_deployments"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_deployments_round_id_rounds")
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"], ["scenarios.id"], name=op.f("fk_deployments_scenario_id_scenarios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.UniqueConstraint(
            "client_id", "role", "is_open", name=op.f("uq_deployments_client_id_role_is_open")
        ),
        sa.UniqueConstraint(
            "round_id", "client_id", "role", name=op.f("uq_deployments_round_id_client_id_role")
        ),
    )
    for col in ("client_id", "la_code", "round_id", "stage", "supporter_id"):
        op.create_index(op.f(f"ix_deployments_{col}"), "deployments", [col])
    op.create_table(
        "round_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("supporter_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("la_code", sa.String(length=3), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("need_days_x100", sa.BigInteger(), nullable=False),
        sa.Column("days_per_week_x100", sa.BigInteger(), nullable=False),
        sa.Column("cost_gbp_x10000", sa.BigInteger(), nullable=False),
        sa.Column("distance_km_x100", sa.BigInteger(), nullable=True),
        sa.Column("reason_code", sa.String(length=40), nullable=True),
        sa.Column("deployment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_round_outcomes_deployment_id_deployments"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_round_outcomes_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_outcomes")),
        sa.UniqueConstraint(
            "round_id",
            "client_id",
            "role",
            name=op.f("uq_round_outcomes_round_id_client_id_role"),
        ),
    )
    op.create_index(op.f("ix_round_outcomes_round_id"), "round_outcomes", ["round_id"])
    op.create_table(
        "stage_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=20), nullable=True),
        sa.Column("to_stage", sa.String(length=20), nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("user", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_stage_changes_deployment_id_deployments"),
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_stage_changes_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_changes")),
    )
    op.create_index(op.f("ix_stage_changes_deployment_id"), "stage_changes", ["deployment_id"])
    _append_only_triggers()


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE (and, on PostgreSQL, TRUNCATE) on the history tables."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION broker_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: rows are never changed or removed', "
            "TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION broker_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION broker_append_only()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows are never "
                    "changed or removed'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        elif dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS broker_append_only()")
    for table in (
        "stage_changes",
        "round_outcomes",
        "deployments",
        "rounds",
        "scenario_files",
        "scenarios",
        "audit_log",
        "ledger_state",
    ):
        op.drop_table(table)
