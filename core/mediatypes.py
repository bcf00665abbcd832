"""The manifest media types of the distribution API (Docker schema 2 and OCI)."""

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
           "application/vnd.docker.distribution.manifest.v1+prettyjws")
ACCEPT = ", ".join([OCI_INDEX, MANIFEST_LIST, OCI_MANIFEST, MANIFEST_V2, *SCHEMA1])
