"""README's version tables and the shipped stacks follow components/versions.py,
the one table the tools, the preflight and the rules read."""

from __future__ import annotations

import re

from harness import ROOT, stack_file_config

from components.versions import (
    KIND,
    KIND_DEFAULT_NODE_IMAGE,
    KIND_NODE_IMAGES,
    KUBECTL,
    PROJECT_NODE_IMAGES,
    PULUMI,
    TOOLS,
)

README = (ROOT / "README.md").read_text()


def test_readme_lists_each_pinned_tool_at_its_version() -> None:
    rows = dict(re.findall(r"^\| (kind|kubectl|pulumi) \| v([0-9.]+) \|", README, re.MULTILINE))
    assert rows == {tool.name: tool.version for tool in TOOLS}


def test_readme_lists_kinds_node_images_as_the_table_does() -> None:
    rows = re.findall(r"^\| v([0-9.]+) \| `kindest/node:(v[0-9.]+)` \| ([0-9.]+) \|$", README, re.MULTILINE)
    assert rows == [
        (image.kind, tag, ".".join(map(str, image.containerd))) for tag, image in KIND_NODE_IMAGES.items()
    ]


def test_the_containerd_stack_runs_the_pinned_kinds_own_image() -> None:
    assert stack_file_config("containerd")["nodeImage"] == KIND_DEFAULT_NODE_IMAGE
    assert KIND_NODE_IMAGES[KIND_DEFAULT_NODE_IMAGE.split(":")[1].split("@")[0]].kind == KIND.version


def test_the_pulumi_sdk_is_the_clis_release() -> None:
    """Never newer than the CLI that runs it."""
    pins = (ROOT / "requirements.txt").read_text()
    assert re.search(rf"^pulumi=={re.escape(PULUMI.version)}\b", pins, re.MULTILINE)


def test_kubectl_is_pinned_at_the_newest_kubernetes_the_table_knows() -> None:
    newest = max(KIND_NODE_IMAGES, key=lambda tag: tuple(int(p) for p in tag[1:].split(".")))
    assert KUBECTL.version.split(".")[:2] == newest[1:].split(".")[:2]


def test_the_projects_node_image_entry_is_what_the_build_pins() -> None:
    # The tag is the Kubernetes version tools/kubernetes builds; the containerd
    # the one scripts/real-tools.sh builds into it.
    kubernetes = re.search(
        r"^\s*(?:require )?k8s.io/kubernetes (v[0-9.]+)( // indirect)?$",
        (ROOT / "tools/kubernetes/go.mod").read_text(),
        re.M,
    )
    containerd = re.search(
        r"^containerd_version=v([0-9.]+)$", (ROOT / "scripts/real-tools.sh").read_text(), re.M
    )
    assert kubernetes and containerd
    pinned = {kubernetes[1]: tuple(map(int, containerd[1].split(".")))}
    assert pinned == PROJECT_NODE_IMAGES
