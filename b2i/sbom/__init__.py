"""Supply chain: what is inside an image (a CycloneDX SBOM) and how it was made (provenance).

`options` holds the engine's opt-in and result types (light: imported by every build). The
readers (`maven` with `nested_zip`, `gobuildinfo`, `dpkg`) and the documents (`cyclonedx`,
`provenance`) are loaded only by a build that asks for them (b2i.engine_supply), which pushes
the documents as OCI 1.1 referrers (b2i.oci.referrers).
"""
