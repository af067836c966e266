"""Thin async resolvers, one module per area: catalogue, wizard, jobs."""
