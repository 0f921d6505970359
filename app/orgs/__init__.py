"""Org units (city → districts → streets → communities, plus departments), users and roles."""
