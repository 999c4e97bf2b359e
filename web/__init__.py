"""The web console and REST API: a thin adapter over the application layer, beside cli/."""
