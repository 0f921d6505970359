"""Service-level agreements: working-time calendar and task deadlines (办结时限)."""
