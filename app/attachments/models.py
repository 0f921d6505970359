"""An attachment row points at a content-addressed file in the attachment store."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow
from app.orgs.models import User


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))  # as the uploader named it, cleaned
    content_type: Mapped[str] = mapped_column(String(100))  # sniffed from the bytes, not trusted from the client
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(20), default="upload")  # upload | intake | open311 | task
    # a step's photo (forms' ``"format": "photo"`` fields): the task whose form carried it, the
    # field and its tag (``before`` 处置前 / ``after`` 处置后); empty for a loose case attachment
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"), index=True)
    field: Mapped[str | None] = mapped_column(String(64))
    tag: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    uploaded_by: Mapped[User | None] = relationship()
