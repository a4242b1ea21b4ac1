"""The model: events, recipients and settings as validated values (stage 1 of the pipeline)."""
