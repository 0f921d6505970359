"""The page tests' logged-in clients serve the cockpit's tests too (the drill-down lists)."""
from tests.web.conftest import browser  # noqa: F401
