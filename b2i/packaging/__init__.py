"""Framework-free artifact inspection and layering: JAR, WAR, binary. No Django."""
