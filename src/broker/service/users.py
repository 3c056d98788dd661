"""Creating and finding the service's users."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from broker.errors import InputError
from broker.ledger import repository as repo
from broker.ledger.models import utcnow
from broker.ledger.service_tables import ROLES, ServiceUser
from broker.service import security

LA_CODE = re.compile(r"^\d{3}$")
NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
MIN_PASSWORD = 8


@dataclass(frozen=True)
class NewUser:
    """A user just created, with its API token (shown once)."""

    id: int
    name: str
    role: str
    token: str


def add_user(
    session: Session,
    name: str,
    role: str,
    *,
    la_codes: Sequence[str] = (),
    supporter_ids: Sequence[str] = (),
    password: str | None = None,
    created_by: str,
) -> NewUser:
    """Create a user; return it with its new API token.

    Raises
    ------
    broker.errors.InputError
        For a bad name, role, LA code or password, a missing ``--la`` (role ``la``)
        or ``--supporter`` (role ``supporter``), or a name already taken.
    """
    where = "<arguments>"
    if not NAME.match(name):
        raise InputError.one(
            where,
            "expected 1 to 100 letters, digits or . _ @ -",
            column="NAME",
            value=name,
        )
    if role not in ROLES:
        raise InputError.one(
            where, "expected one of " + ", ".join(ROLES), column="--role", value=role
        )
    bad = [c for c in la_codes if not LA_CODE.match(c)]
    if bad:
        raise InputError.one(where, "expected a DfE 3-digit LA code", column="--la", value=bad[0])
    if role == "la" and not la_codes:
        raise InputError.one(where, "an la user needs at least one --la CODE", column="--la")
    if role != "la" and la_codes:
        raise InputError.one(where, "--la is for role la only", column="--la")
    if role == "supporter" and not supporter_ids:
        raise InputError.one(
            where, "a supporter user needs at least one --supporter ID", column="--supporter"
        )
    if role != "supporter" and supporter_ids:
        raise InputError.one(where, "--supporter is for role supporter only", column="--supporter")
    if password is not None and len(password) < MIN_PASSWORD:
        raise InputError.one(
            where, f"a password needs at least {MIN_PASSWORD} characters", column="--password"
        )
    repo.lock(session)
    if session.scalar(select(ServiceUser.id).where(ServiceUser.name == name)) is not None:
        raise InputError.one(
            where, "a user with this name already exists", column="NAME", value=name
        )
    token = security.new_token()
    user = ServiceUser(
        name=name,
        role=role,
        la_codes=sorted(set(la_codes)),
        supporter_ids=sorted(set(supporter_ids)),
        token_sha256=security.token_digest(token),
        password_hash=security.hash_password(password) if password else None,
        active=True,
        created_at=utcnow(),
        created_by=created_by,
    )
    session.add(user)
    session.flush()
    repo.audit(
        session,
        created_by,
        "user_added",
        name=name,
        role=role,
        la_codes=user.la_codes,
        supporter_ids=user.supporter_ids,
        password=bool(password),
    )
    return NewUser(user.id, name, role, token)


def by_token(session: Session, token: str) -> ServiceUser | None:
    """The active user whose API token this is."""
    digest = security.token_digest(token)
    user = session.scalar(select(ServiceUser).where(ServiceUser.token_sha256 == digest))
    return user if user is not None and user.active else None


def by_name(session: Session, name: str) -> ServiceUser | None:
    user = session.scalar(select(ServiceUser).where(ServiceUser.name == name))
    return user if user is not None and user.active else None


def by_id(session: Session, user_id: int) -> ServiceUser | None:
    user = session.get(ServiceUser, user_id)
    return user if user is not None and user.active else None
