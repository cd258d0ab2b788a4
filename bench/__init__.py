"""`make bench`: throughput and latency of the API against floors measured in the same run (docs/benchmarks.md)."""
