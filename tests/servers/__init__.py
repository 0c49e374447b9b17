"""Real servers the tests start on loopback: soketi, DNS, TLS, scripted Pusher, firewalls."""
