"""README's version tables and the shipped stacks follow components/versions.py,
the one table the tools, the preflight and the rules read."""

from __future__ import annotations

import re

from harness import ROOT, stack_file_config

from components.versions import KIND, KIND_DEFAULT_NODE_IMAGE, KIND_NODE_IMAGES, KUBECTL, PULUMI, TOOLS

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
