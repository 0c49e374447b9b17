"""wsdiag: find out why an app can or cannot talk to Pusher Channels, and how fast."""

__version__ = "0.1.0"
