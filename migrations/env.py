"""Alembic environment: the target metadata is the application's models."""
from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

import app.cases.models  # noqa: F401 - register tables
import app.catalog.models  # noqa: F401
import app.core.audit  # noqa: F401
import app.engine.models  # noqa: F401
import app.orgs.models  # noqa: F401
import app.sla.models  # noqa: F401
import app.notifications.models  # noqa: F401
import app.supervision.models  # noqa: F401
import app.tasks.models  # noqa: F401
import app.attachments.models  # noqa: F401
import app.duplicates.models  # noqa: F401
import app.security.models  # noqa: F401
import app.maps.models  # noqa: F401
import app.designer.testrun_models  # noqa: F401
import app.designer.models  # noqa: F401
import app.kpis.models  # noqa: F401
import app.cockpit.models  # noqa: F401
import app.hotspots.models  # noqa: F401
from app.core.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                         prefix="sqlalchemy.", poolclass=pool.NullPool)
        with connectable.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
