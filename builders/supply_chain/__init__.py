"""Supply chain of a run (issue 17): its SBOM and provenance, their components, and diffs.

`documents` reads the engine's CycloneDX document into component rows and packs documents for
storage (pure functions); `diff` compares two runs' components (pure); `store` saves a run's
documents and answers queries about them (the database side).
"""
