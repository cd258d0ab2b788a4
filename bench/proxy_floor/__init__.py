"""The proxy floor: one async Django view on the lean `/v1/` handler that forwards a chat request
to the upstream with the backend's own HTTP client and returns its JSON (bench/scenarios/proxy.py)."""
