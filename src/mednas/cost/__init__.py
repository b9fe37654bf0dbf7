"""Cost of a network: parameters, FLOPs, latency."""
