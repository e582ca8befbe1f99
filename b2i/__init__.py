"""The image engine: turns an artifact into an OCI image and pushes it, without Docker.

Framework-free (no Django, DRF, Celery or Channels; a test enforces it) and mypy --strict.
`oci/` speaks to registries and writes layers; `packaging/` inspects artifacts and plans their
layers; `engine` drives one build; `cli` is the `b2i` command.
"""
