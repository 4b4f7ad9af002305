"""People who may log in: scrypt password hashes and stored roles."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from agents.lifecycle import Actor, DecisionError
from agents.policy import ROLES
from db.audit import append_audit
from db.engine import read_session, write_session
from db.models import User

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        _scheme, n, r, p, salt, digest = stored.split("$")
        candidate = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def set_user(
    session: Session, *, name: str, role: str, password: str, actor: str, now: datetime
) -> User:
    """Create a user or reset their role and password."""
    name = name.strip()
    if not name or len(name) > 64 or any(c.isspace() for c in name):
        raise ValueError("A user name is 1-64 characters with no spaces.")
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    if len(password) < 8:
        raise ValueError("A password needs at least 8 characters.")
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        user = User(name=name, role=role, password_hash=hash_password(password), created_at=now)
    else:
        user.role, user.password_hash = role, hash_password(password)
    session.add(user)
    append_audit(
        session,
        at=now,
        actor=actor,
        kind="user.set",
        entity="user",
        entity_id=name,
        data={"role": role},
    )  # never the password
    return user


def add_user(engine: Engine, *, name: str, role: str, password: str, actor: str) -> User:
    with write_session(engine) as session:
        return set_user(
            session, name=name, role=role, password=password, actor=actor, now=datetime.now(UTC)
        )


def authenticate(engine: Engine, name: str, password: str) -> Actor | None:
    with read_session(engine) as session:
        user = session.exec(select(User).where(User.name == name)).first()
    if user is None or not verify_password(password, user.password_hash):
        return None
    return Actor(name=user.name, role=user.role)


def actor_for(engine: Engine, name: str) -> Actor:
    """The stored role of a user; an unknown name decides nothing."""
    with read_session(engine) as session:
        user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise DecisionError("forbidden", f"There is no user {name!r}.")
    return Actor(name=user.name, role=user.role)
