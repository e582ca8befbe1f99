"""Server-rendered console pages: the shell and per-page config; data comes from the REST API."""
