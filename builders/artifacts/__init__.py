"""Artifacts: uploads (single and resumable), their staging and expiry, storage and downloads."""
