"""The framework floor: one async Django view on the project's lean `/v1/` handler, no DRF."""
