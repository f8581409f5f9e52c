"""The runtime: the session that composes the parts, the always-on front end, endpointing, the
turn, the reply voice, asking and hearing the answer, the clock, worker pools and traces."""
