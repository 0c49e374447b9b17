"""wsdiag's verdict against the real client (pusher-js in Node), condition by condition."""
