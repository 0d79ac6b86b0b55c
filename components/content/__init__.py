"""Turn a local folder into a reproducible OCI image index, and push it.

Command line (stable; exit 0 on success, 1 with ``error: <why, naming the path>`` on
stderr for a refused folder or a failed push, 2 for a usage error)::

    python -m components.content digest DIR [--cache CACHE_DIR | --no-cache]
        prints the index digest, ``sha256:<64 hex>``; no network. The cache defaults to
        <project>/.pulumi/cache/content/ (see components/content/cache.py).
    python -m components.content push DIR HOST[:PORT]/REPOSITORY
        builds DIR, pushes the layer (chunked), both configs, both manifests and the index,
        and prints ``HOST[:PORT]/REPOSITORY@sha256:<64 hex>``: the same digest ``digest``
        prints. HTTPS with certificate verification to any host that is not loopback (CA
        bundle as requests: REQUESTS_CA_BUNDLE, else certifi's), never plain HTTP there;
        plain HTTP to a loopback host (127.0.0.0/8, localhost, [::1]). Credentials, when the
        registry asks (Basic or Bearer), come from the docker config as docker reads it:
        $DOCKER_CONFIG/config.json, else ~/.docker/config.json (credHelpers / credsStore via
        docker-credential-<helper>, else auths.<HOST[:PORT]>.auth).

Python API::

    describe(root, cache_dir=DEFAULT_CACHE) -> Content
        Content.digest: the index digest (below); Content.files: a FileSum(path, sha256,
        size) for every regular file (hard links too; not folders, not symlinks), in
        layer order, ``path`` being its name in the layer (NFC, '/'-separated, relative).
        Both come from one read of each file; ``cache_dir=None`` skips the cache.
    digest(root, cache_dir=DEFAULT_CACHE) -> str
        ``describe(root, cache_dir).digest``.
    build(root, layer_out=None) -> oci.Image
        the documents, the layer streamed into ``layer_out``; ``Image.layer.files`` holds
        the same file sums. ``push(root, target)`` uses it.

The cache, like git's index, remembers per folder every entry's ``lstat`` data, the
digest and the file sums: when no entry changed (and none is racily new) both are
returned without reading any file; any change, or a cache file of another format
version, rebuilds both from scratch.

The image (docs/runtimes.md section 4): an OCI image index (``application/vnd.oci.image.
index.v1+json``) listing a linux/amd64 and a linux/arm64 image manifest, which share
one uncompressed tar layer (``application/vnd.oci.image.layer.v1.tar``) holding the
folder's entries at its root and differ only in their config's ``architecture``.
Configs carry ``rootfs.diff_ids`` (the layer's digest); there is no ``artifactType``
and no annotation. All JSON is canonical (sorted keys, no spaces). The digest is the
sha256 of the index's exact bytes, the same on every machine.

The layer is reproducible like git: entries sorted bytewise on their NFC UTF-8 names;
mtime 0, uid/gid 0, empty uname/gname; permissions 0755 for folders and for files
with any exec bit, else 0644 (0777 for symlinks); names in Unicode NFC; hard links
stored as regular files; ustar headers, with a PAX header only for a name or target
that is not ASCII or over 100 bytes (never a time record); see tarlayer.py.

Refused, with the path in the message: symlinks that are absolute or resolve outside
the folder, fifos, sockets and devices, names with control characters or not valid
UTF-8, two names equal after NFC, an empty folder, a file that changes while read.

Modules: walk (scan + checks), tarlayer (the tar stream and each file's sha256, hashed
in one pass), oci (the JSON documents), cache (git-index-like cache of the digest and
file sums), builder (all together), target (HOST[:PORT]/REPOSITORY and its scheme),
push (the registry protocol, via oras' client and plain PUTs of our bytes; imported
from components.content.push, since it loads oras and requests).
"""

from __future__ import annotations

from components.content.builder import DEFAULT_CACHE, Content, build, describe, digest
from components.content.errors import ContentError
from components.content.target import parse_target
from components.content.tarlayer import FileSum

# push lives in components.content.push: it loads oras and requests, which
# evaluating a stack (describe, parse_target) does not need.
__all__ = [
    "DEFAULT_CACHE",
    "Content",
    "ContentError",
    "FileSum",
    "build",
    "describe",
    "digest",
    "parse_target",
]
