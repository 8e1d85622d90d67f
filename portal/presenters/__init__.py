"""Stored values as pages show them: a rule in plain language, a document diff, charts' data."""
