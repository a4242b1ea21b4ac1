"""Delivering: messages to a transport, each exactly once, every outcome journaled."""
