"""Generated from openapi/schema.yaml by scripts/generate.py: never edit these files by hand."""
