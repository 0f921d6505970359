"""Test runs of a draft bundle: throw-away workflows kept apart from every real case table."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class TestRun(Base):
    """One designer's throw-away case on a draft: the draft's files (over a deployed version),
    the start data and the serialized workflow state. No case, task, audit or timer row points
    here and nothing here points at a case: inboxes, KPIs, the case list and the scheduler never
    see it. Rows expire (``expires_at``) and are deleted by :func:`app.designer.testrun.clean_up`."""

    __test__ = False  # not a pytest test class
    __tablename__ = "designer_test_runs"
    __table_args__ = (Index("ix_designer_test_runs_owner", "owner_id", "expires_at"),
                      Index("ix_designer_test_runs_expires", "expires_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    process_id: Mapped[str] = mapped_column(String(100))
    base_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    files: Mapped[str] = mapped_column(Text)  # JSON {"processes/x.bpmn": text}: the draft over the base version
    start_data: Mapped[str] = mapped_column(Text)  # JSON of the variables the run started with
    state: Mapped[str | None] = mapped_column(Text)  # the workflow, as app.engine.serializer.dumps wrote it
    steps: Mapped[str] = mapped_column(Text, default="[]")  # JSON: the completions and their data, in order
    effects: Mapped[str] = mapped_column(Text, default="[]")  # JSON: remind()/supervise() asked for, not done
    error: Mapped[str | None] = mapped_column(Text)  # JSON {"message", "element"} of the last failed step
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped by each step (optimistic lock)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()

    __mapper_args__ = {"version_id_col": version}
