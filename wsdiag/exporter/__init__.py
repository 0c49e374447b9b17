"""``wsdiag exporter``: Prometheus probes of Pusher, one check per scrape.

``modules`` reads the probe modules from the config file, ``probe`` runs one
check within the scrape's time, ``server`` answers ``/probe`` and ``/metrics``.
The scrape itself is rendered by ``wsdiag.render.prometheus``.
"""
