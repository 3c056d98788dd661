"""Settings of a running service."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field

ENV_SECRET = "BROKER_SECRET"


def _secret() -> str:
    return os.environ.get(ENV_SECRET) or secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Settings:
    """How the service runs.

    Attributes
    ----------
    db
        Ledger URL as given to ``--db`` (resolved by :func:`broker.ledger.db.resolve_url`).
    secret
        Key that signs session cookies: ``$BROKER_SECRET``, else random per start
        (sessions then end when the server restarts).
    max_jobs
        Rounds and what-ifs solved at once; more wait their turn.
    time_limit_s
        Default and largest solving time of a job, in seconds.
    secure_cookies
        Mark cookies ``Secure`` (set it behind HTTPS).
    """

    db: str | None = None
    secret: str = field(default_factory=_secret)
    max_jobs: int = 1
    time_limit_s: float = 20.0
    max_time_limit_s: float = 300.0
    secure_cookies: bool = False
    max_upload_bytes: int = 50 * 1024 * 1024
