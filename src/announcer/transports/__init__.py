"""Transports deliver finished messages: a dry run into files, or SMTP."""
