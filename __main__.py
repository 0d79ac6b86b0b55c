"""A kind cluster with image volumes, a pod that mounts an OCI artifact, and the proof."""

import pulumi

from components.settings import load_settings
from components.stack import deploy

for output_name, value in deploy(load_settings()).items():
    pulumi.export(output_name, value)
