"""The composition root: builds the process's long-lived parts and runs them (app/root.py)."""
