"""Lookup events, stats and alerts, health details and Prometheus metrics."""
