"""Supply chain: what is inside an image (a CycloneDX SBOM) and how it was made (provenance).

`options` holds the engine's opt-in and result types (light: imported by every build);
the readers (`maven`, `gobuildinfo`, `dpkg`), the documents (`cyclonedx`, `provenance`) and
the OCI 1.1 referrers (`referrers`) are loaded only by a build that asks for them.
"""
