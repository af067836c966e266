"""Operational commands run from server.py: the UUID backfill."""
