"""The web service's tables: users and jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Plain column types, as in 0001 (see ``docs/ledger.md``, "Changing the schema").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = "'programme', 'la', 'supporter', 'viewer'"
KINDS = "'round', 'whatif'"
STATUSES = "'queued', 'running', 'recording', 'done', 'failed', 'cancelled'"


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "service_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("la_codes", sa.JSON(), nullable=False),
        sa.Column("supporter_ids", sa.JSON(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.CheckConstraint(f"role IN ({ROLES})", name=op.f("ck_service_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_users")),
        sa.UniqueConstraint("name", name=op.f("uq_service_users_name")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_service_users_token_sha256")),
    )
    op.create_table(
        "service_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("la_code", sa.String(length=3), nullable=True),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("base_round_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("started_at", _when(), nullable=True),
        sa.Column("finished_at", _when(), nullable=True),
        sa.CheckConstraint(f"kind IN ({KINDS})", name=op.f("ck_service_jobs_kind")),
        sa.CheckConstraint(f"status IN ({STATUSES})", name=op.f("ck_service_jobs_status")),
        sa.ForeignKeyConstraint(
            ["base_round_id"], ["rounds.id"], name=op.f("fk_service_jobs_base_round_id_rounds")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_service_jobs_round_id_rounds")
        ),
        sa.ForeignKeyConstraint(
            ["scenario_id"], ["scenarios.id"], name=op.f("fk_service_jobs_scenario_id_scenarios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_jobs")),
    )
    op.create_index(op.f("ix_service_jobs_kind"), "service_jobs", ["kind"])
    op.create_index(op.f("ix_service_jobs_la_code"), "service_jobs", ["la_code"])


def downgrade() -> None:
    op.drop_table("service_jobs")
    op.drop_table("service_users")
