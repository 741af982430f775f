"""API conventions shared by every app: pagination, permissions, errors, routing."""
