"""`make bench`: throughput and latency of the API against floors measured in the same run (DESIGN §9)."""
