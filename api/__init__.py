"""The HTTP side: settings, per-request context, the GraphQL view, health."""
