"""The Pusher Channels protocol as pure code: frames, close codes, signatures. No I/O."""
