import functools
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from kb.extensions import db
from kb.models.enums import Role, enum_column


@functools.cache
def _unknown_password_hash() -> str:
    # Hashed once per process, with the same method as real passwords.
    return generate_password_hash(secrets.token_urlsafe(16))


def check_unknown_password(password: str) -> None:
    """Check a password against a hash no one has, so that signing in as
    nobody (or as a deactivated user) takes as long as a wrong password."""
    check_password_hash(_unknown_password_hash(), password)


class Team(db.Model):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)

    members: Mapped[list["User"]] = relationship(back_populates="team")

    def __repr__(self) -> str:
        return f"<Team {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"), default=Role.REP)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Part of every session's signed user id: raising it (at sign-out or a
    # password change) makes every copy of the user's session cookies stale.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    team: Mapped[Team | None] = relationship(back_populates="members")
    tokens: Mapped[list["ApiToken"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    sign_ins: Mapped[list["SignIn"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    # The sign-in of the current request's session (see kb.auth.sessions); not stored.
    sign_in_key = None

    def set_password(self, password: str) -> None:
        """A new password also ends the user's other sessions."""
        if self.password_hash is not None:
            self.end_sessions()
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            check_unknown_password(password)
            return False
        return check_password_hash(self.password_hash, password)

    def end_sessions(self) -> None:
        """Every session signed in so far stops working (the caller commits)."""
        self.session_version = (self.session_version or 0) + 1

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id, the session version
        and the key of this browser's sign-in."""
        session_id = f"{self.id}.{self.session_version or 0}"
        return f"{session_id}.{self.sign_in_key}" if self.sign_in_key else session_id

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sign-in for deactivated users
        return self.active

    @property
    def display_name(self) -> str:
        return self.name or self.email

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only the SHA-256 of the token is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class SignIn(db.Model):
    """One browser's session, from sign-in to sign-out: signing out deletes
    its row, which ends that session (and every copy of its cookie) and no
    other. Only a hash of the key in the session cookie is kept."""

    __tablename__ = "sign_ins"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The user's session version when it started: a new password ends it.
    version: Mapped[int]
    started_at: Mapped[datetime]
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship(back_populates="sign_ins")


class LoginAttempt(db.Model):
    """A sign-in attempt from a client address, kept while it counts towards
    the rate limit: every worker and machine sees the same attempts."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_client_at", "client", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    client: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(index=True)
