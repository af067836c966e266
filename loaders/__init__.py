"""Per-request DataLoaders and the one lookup every slug resolution goes through."""
