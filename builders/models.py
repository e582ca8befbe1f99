"""Models of the builders app."""
