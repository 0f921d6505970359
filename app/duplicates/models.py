"""What the detector keeps per case, its lookup keys, and the candidates it proposed.

``duplicate_keys`` is the index the detector searches: a few hashed keys per live case (rare
words of its text, its place and category, its reporter). Only live cases — open, or closed
within the window — keep keys, so a lookup costs the same with a million closed cases as with
none (see docs/duplicates.md).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, text, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow
from app.orgs.models import User

CANDIDATE_STATES = ("open", "dismissed", "merged")


class CaseFingerprint(Base):
    __tablename__ = "case_fingerprints"
    __table_args__ = (Index("ix_case_fingerprints_indexed", "case_id", sqlite_where=text("indexed"),
                            postgresql_where=text("indexed")),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column()
    text: Mapped[str] = mapped_column(Text)  # normalized title + description, cut
    tags: Mapped[str] = mapped_column(Text)  # the text's weighted rare words, JSON {word: weight}
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    category_code: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))  # normalized
    reporter: Mapped[str | None] = mapped_column(String(64))  # hash of phone or channel user id
    exact: Mapped[str] = mapped_column(String(32))  # hash of the normalized text
    # True while the case has lookup keys (open, or closed within the window); the purge clears it
    indexed: Mapped[bool] = mapped_column(Boolean, default=True)


class DuplicateKey(Base):
    __tablename__ = "duplicate_keys"
    __table_args__ = (Index("ix_duplicate_keys_case", "case_id"),)

    key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)


class DuplicateCandidate(Base):
    __tablename__ = "duplicate_candidates"
    __table_args__ = (UniqueConstraint("case_id", "candidate_id", name="uq_duplicate_candidates_pair"),
                      Index("ix_duplicate_candidates_candidate", "candidate_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)  # the newer report
    candidate_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))  # the earlier case it may repeat
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text)  # JSON {"codes": [...], "details": {...}}
    state: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()

    decided_by: Mapped[User | None] = relationship()


class ReporterNotice(Base):
    """A message owed to the reporter of a merged case when its master ends (the outbox of the
    channel adapters: SMS gateway, WeChat, the mailbox). Adapters fetch the undelivered ones and
    mark them delivered."""

    __tablename__ = "reporter_notices"
    __table_args__ = (Index("ix_reporter_notices_pending", "channel", "id", sqlite_where=text("delivered_at IS NULL"),
                            postgresql_where=text("delivered_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)  # the merged case
    master_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(120))  # the channel's message id of the report
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    contact: Mapped[str | None] = mapped_column(String(200))  # phone, or the channel's user id
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()
    delivered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
