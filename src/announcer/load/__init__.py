"""Loading: files (events, recipients, settings, secrets) into the model, errors located."""
