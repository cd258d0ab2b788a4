"""One module per namespace of the API; each has a sync class and its async twin."""
