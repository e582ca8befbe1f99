"""Framework-free OCI image engine: references, registry client, layers, push. No Django."""
