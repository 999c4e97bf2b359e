"""Use cases, one per module, on eventsourcing.application. They return plain data."""
