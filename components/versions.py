"""The versions this project pins and tests, in one table: the tools `make tools`
fetches (with their published sha256), and kind's node images by release.
The preflight, the settings rules, the stack files' tests and README are
checked against it. Source: docs/runtimes.md sections 2 and 5
(kind and kubectl sums from cert-manager/makefile-modules modules/tools/00_mod.mk;
Pulumi's from pulumi/homebrew-tap Formula/pulumi.rb).
"""

from __future__ import annotations

from dataclasses import dataclass

# The platforms a tool is published for: (os, cpu) as Go names them.
PLATFORMS = (("linux", "amd64"), ("linux", "arm64"), ("darwin", "amd64"), ("darwin", "arm64"))


@dataclass(frozen=True)
class Tool:
    name: str
    version: str  # without the leading v
    url: str  # a template with {version}, {os}, {arch} (Pulumi: {pulumi_arch})
    sha256: dict[tuple[str, str], str]  # (os, arch) -> the published sha256 of the download
    archive_member: str | None = None  # the binary inside a .tar.gz download

    def download_url(self, os_name: str, arch: str) -> str:
        pulumi_arch = "x64" if arch == "amd64" else arch
        return self.url.format(version=self.version, os=os_name, arch=arch, pulumi_arch=pulumi_arch)


KIND = Tool(
    "kind",
    "0.32.0",
    "https://github.com/kubernetes-sigs/kind/releases/download/v{version}/kind-{os}-{arch}",
    {
        ("linux", "amd64"): "50030de23cf40a18505f20426f6a8506bedf13c6e509244bd1fa9463721b0f54",
        ("linux", "arm64"): "b92cd615e97585de8ddade28ed5cd7feb4248d717c233eea5b03c37298900f5d",
        ("darwin", "amd64"): "295ac6d0d634c9819c9907df45e3017d1f13166bd13c3404c45e79f7faa47498",
        ("darwin", "arm64"): "dca67911095a110c2b5c36e26df6cac860c602033e456c0db47be498cdef1ebb",
    },
)
KUBECTL = Tool(
    "kubectl",
    "1.36.4",
    "https://dl.k8s.io/release/v{version}/bin/{os}/{arch}/kubectl",
    {
        ("linux", "amd64"): "8b8f088da2dab964f853b38464033b1be15ede2839eca751482357c45abdd05a",
        ("linux", "arm64"): "0ecf44450ee6063bf19dd166a103ee6df4a9034455c2abce626e6eea657d73fb",
        ("darwin", "amd64"): "71a3aa7c2ee2c974d9fbb462cba0c5c04a4df2e8d85eee94714fd819ea3c4e63",
        ("darwin", "arm64"): "c9e4f713d6fee0043a3d835cca13077cda2bc0973840eb9779360df0b5bdfc69",
    },
)
PULUMI = Tool(
    "pulumi",
    "3.259.0",
    "https://github.com/pulumi/pulumi/releases/download/v{version}/pulumi-v{version}-{os}-{pulumi_arch}.tar.gz",
    {
        ("linux", "amd64"): "94ba357acac23d01474084c4b00098dc0f7bc70ce13f34c777459254a5f718e5",
        ("linux", "arm64"): "edc8327463a72160bb36cf82cf5062da9c8a244290a706d9980988e7bf486853",
        ("darwin", "amd64"): "eaca4c3b8277bfa3ab061fa3b270d1c66358a0b2e613da8c5587a04b7226c534",
        ("darwin", "arm64"): "57c27f179e527e2cf9f62b841a448af72a020e44b2fb4ee0d9bd85556c00c864",
    },
    # The tarball holds pulumi/pulumi and the pulumi-language-* hosts.
    archive_member="pulumi/",
)
TOOLS = (KIND, KUBECTL, PULUMI)


@dataclass(frozen=True)
class NodeImage:
    """A kind release's default node image (kind release notes)."""

    digest: str
    containerd: tuple[int, int, int]
    kind: str  # the kind release it was built for, without v


# kindest/node tags by the kind release that built them.
KIND_NODE_IMAGES: dict[str, NodeImage] = {
    "v1.33.1": NodeImage(
        "sha256:050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f", (2, 1, 1), "0.29.0"
    ),
    "v1.34.0": NodeImage(
        "sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a", (2, 1, 4), "0.30.0"
    ),
    "v1.35.0": NodeImage(
        "sha256:452d707d4862f52530247495d180205e029056831160e22870e37e3f6c1ac31f", (2, 2, 0), "0.31.0"
    ),
    "v1.36.1": NodeImage(
        "sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5", (2, 3, 1), "0.32.0"
    ),
}
# This project's own node image (make node-image: images/node/build.sh) by
# tag, and the containerd it ships (scripts/real-tools.sh). It is built on the
# user's machine, so there is no digest to pin.
PROJECT_NODE_IMAGE = "localhost/imagevolume/node"
PROJECT_NODE_IMAGES: dict[str, tuple[int, int, int]] = {"v1.36.3": (2, 3, 7)}
# The pinned kind's own node image.
KIND_DEFAULT_NODE_IMAGE = "kindest/node:v1.36.1@" + KIND_NODE_IMAGES["v1.36.1"].digest
# kind v0.32.0 is the first release that can run Kubernetes 1.36 node images (kubeadm v1beta4).
KIND_FOR_KUBERNETES_1_36 = "0.32.0"
# The stack's own registry for source volumes: distribution 3.1.2 (`registry:3`),
# an index pinned by digest (docker-library/repo-info).
REGISTRY_IMAGE = "registry:3@sha256:852b3e4d378c426dda6b318fe9d9bfe8e92a0eccb9926671ec3d3ea17a196696"
