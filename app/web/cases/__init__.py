"""Work orders: the list, the intake form for operators (standard fields + the channel's extension
form, photos and files), the case page with its timeline, the dispatcher's duplicate decisions, and
parking. One blueprint (``cases``), one module per job:

- :mod:`.intake_form`: the intake form's schema, extension fields and uploads (shared with ``report``);
- :mod:`.intake`: ``/cases/new``;
- :mod:`.page`: ``/cases`` and the case page;
- :mod:`.duplicates`: merge / keep apart;
- :mod:`.parking`: park / unpark.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cases", __name__)

from app.web.cases import duplicates, intake, intake_form, page, parking  # noqa: E402,F401  (their routes)
