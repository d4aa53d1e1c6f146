"""Who is acting: users AMOP knows, with roles, proven by a per-user token.

A token is 32 random bytes shown once when issued; AMOP keeps only its SHA-256 (a token is
random, so no salt or slow hash is needed to resist guessing) and finds the user by it. Revoking
a user or issuing a new token makes the old one worthless. Roles: `requester` files changes,
`approver` approves others' requests, `admin` manages users and accounts and may archive (an
admin holds every role).

Until the first user exists AMOP runs open, as a fresh clone does: the names typed on the command
line are taken as given (and every command says so). The first user, created with no token, must
be an admin; from then on every acting command needs a token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, insert, select, update

from amop_pipelines.changes.people import normalized
from amop_pipelines.changes.requests import audit
from amop_pipelines.db.models import AmopUser

ROLES = ("requester", "approver", "admin")


class IdentityError(PermissionError):
    """Not authenticated, not allowed, or not a valid user change: the message says which."""


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset[str]

    def can(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


def _user(name: str, roles: str) -> User:
    return User(name, frozenset(roles.split(",")))


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def identities_enabled(engine: Engine) -> bool:
    """Whether any user exists (from then on every acting command needs a token)."""
    with engine.connect() as connection:
        return bool(connection.scalar(select(func.count()).select_from(AmopUser)))


def authenticate(engine: Engine, token: str | None) -> User:
    if not token or not token.strip():
        raise IdentityError("no token: set AMOP_TOKEN to the token `amop users add` gave you")
    with engine.connect() as connection:
        row = connection.execute(
            select(AmopUser.name, AmopUser.roles).where(
                AmopUser.token_hash == _hash(token.strip()), AmopUser.revoked_at.is_(None)
            )
        ).one_or_none()
    if row is None:
        raise IdentityError("AMOP_TOKEN is not a valid token (mistyped, replaced or revoked)")
    return _user(row.name, row.roles)


def acting_user(engine: Engine, token: str | None, role: str, claimed: str | None = None) -> User:
    """The authenticated user, holding `role`; a name typed beside the token must be theirs."""
    user = authenticate(engine, token)
    if not user.can(role):
        raise IdentityError(f"{user.name} is not a{'n' if role[0] in 'aeiou' else ''} {role}")
    if claimed and claimed.strip() and normalized(claimed) != normalized(user.name):
        raise IdentityError(f"you are {user.name}: acting as '{claimed.strip()}' is refused")
    return user


def launchpad_requester(engine: Engine, run_user: str | None, typed: str) -> tuple[str, bool]:
    """Who files a launchpad request, and whether that is unproven. The run's `dagster/user` tag
    (set by an authenticating deployment) naming an active requester is proof; otherwise the typed
    name is marked unproven and the request waits for an approver's command."""
    if not identities_enabled(engine):
        return typed, False
    if run_user:
        with engine.connect() as connection:
            for name, roles in connection.execute(
                select(AmopUser.name, AmopUser.roles).where(AmopUser.revoked_at.is_(None))
            ):
                if normalized(name) == normalized(run_user) and _user(name, roles).can("requester"):
                    return name, False
    return f"{typed.strip() or 'launchpad'} (launchpad, unproven)"[:100], True


def _roles(roles: list[str] | tuple[str, ...]) -> str:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise IdentityError(f"roles must be among {', '.join(ROLES)} (given: {', '.join(roles) or 'none'})")
    return ",".join(sorted(set(roles)))


def add_user(engine: Engine, name: str, roles: list[str], by: User | None) -> str:
    """A new user and their first token (returned, shown once). `by` is None only for the first
    user, who must be an admin."""
    name = name.strip()
    if not name or len(name) > 100:
        raise IdentityError("a user's name must be 1 to 100 characters")
    stored_roles = _roles(roles)
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with engine.begin() as connection:
        existing = connection.execute(select(AmopUser.name)).scalars().all()
        if by is None and existing:
            raise IdentityError("users exist: an admin's token (AMOP_TOKEN) is needed to add one")
        if by is None and "admin" not in roles:
            raise IdentityError("the first user must be an admin (--role admin)")
        if by is not None and not by.can("admin"):
            raise IdentityError(f"{by.name} is not an admin")
        if any(normalized(name) == normalized(other) for other in existing):
            raise IdentityError(f"a user named '{name}' exists already")
        connection.execute(
            insert(AmopUser).values(
                name=name,
                roles=stored_roles,
                token_hash=_hash(token),
                created_at=now,
                created_by=by and by.name,
            )
        )
        _audit(connection, by.name if by else name, name, "user added", {"roles": stored_roles})
    return token


def _stored_name(connection, name: str) -> str:
    for stored in connection.execute(select(AmopUser.name)).scalars():
        if normalized(stored) == normalized(name):
            return stored
    raise IdentityError(f"no user named '{name.strip()}'")


def new_token(engine: Engine, name: str, by: User) -> str:
    """A fresh token for `name` (admins for anyone, anyone for themselves); the old one stops
    working, and a revoked user is active again."""
    if not (by.can("admin") or normalized(name) == normalized(by.name)):
        raise IdentityError(f"{by.name} may renew only their own token")
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        stored = _stored_name(connection, name)
        connection.execute(
            update(AmopUser).where(AmopUser.name == stored).values(token_hash=_hash(token), revoked_at=None)
        )
        _audit(connection, by.name, stored, "token renewed", {})
    return token


def revoke(engine: Engine, name: str, by: User) -> None:
    if not by.can("admin"):
        raise IdentityError(f"{by.name} is not an admin")
    with engine.begin() as connection:
        stored = _stored_name(connection, name)
        connection.execute(
            update(AmopUser).where(AmopUser.name == stored).values(revoked_at=datetime.now(UTC))
        )
        _audit(connection, by.name, stored, "user revoked", {})


def list_users(engine: Engine) -> list[tuple[str, str, bool]]:
    """(name, roles, active) of every user."""
    with engine.connect() as connection:
        return [
            (row.name, row.roles, row.revoked_at is None)
            for row in connection.execute(
                select(AmopUser.name, AmopUser.roles, AmopUser.revoked_at).order_by(AmopUser.name)
            )
        ]


def _audit(connection, actor: str, name: str, action: str, after: dict) -> None:
    audit(connection, actor, "user", name, None, action, None, after)
