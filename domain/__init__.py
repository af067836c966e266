"""Domain logic with no I/O: the catalogue model, answer validation, domain errors."""
