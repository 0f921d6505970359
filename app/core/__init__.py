"""Shared plumbing: database session, errors, auth helpers, audit trail, clock, i18n."""
