"""Who owns a kind cluster: the one stack state that created it.

The owner record is minted once per state with `pulumi.Stash`, which keeps the
first value it is given (its later inputs are ignored here, so a deployment
never shows a change for it). A fresh id makes two checkouts of one stack two
owners. create.sh writes the record into the control-plane node container,
where `docker cp` can read it even while the cluster is stopped (a
ConfigMap cannot be read while the API server is down), and adopts or
deletes only a cluster that carries this state's record.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime

# Where the record lives in the control-plane node (kind keeps its own files
# under /kind in the node image).
OWNER_FILE = "/kind/imagevolume-owner"


def new_owner_record(project: str, stack: str) -> str:
    """A new owner: a random id and, for people, where it was made."""
    fields = {
        "id": uuid.uuid4().hex,
        "project": project,
        "stack": stack,
        "checkout": os.getcwd(),
        "host": socket.gethostname(),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return "".join(f"{key}={value}\n" for key, value in fields.items())
