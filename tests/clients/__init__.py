"""The client libraries people use, against a live server."""
