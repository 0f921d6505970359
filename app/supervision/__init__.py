"""督办: the supervisor's console and actions — reassign, urge, extensions, returns, parking, escalation."""
