"""Channels: subscription auth, encrypted payloads, and the live event session behind `tail`."""
