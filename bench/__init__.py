"""`make bench`: this server side by side with PostGraphile and a plain Starlette baseline."""
