"""A poll's VMs, from libvirt's process (apart.py) to this one, as what changed since the
poll this one last received: a VM that is the very Vm sent then (inventory.domain_vm gives
the same one for a domain whose XML, power, load and disks did not change) goes as its UUID
alone, and is taken from that poll here. Pickling 78 Vms and unpickling them on the UI's
event loop cost about 0.5 ms each per host poll, and made as many new objects every time.

Each reply has a token; the next request names the token of the last reply received, and
only a reply to that one is sent as changes: a reply lost (a poll given up, a new process)
only makes the next one whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from mvm_tui.models import HostPoll, Vm


@dataclass(frozen=True)
class PollReply:
    token: str
    poll: HostPoll  # without its VMs
    vms: tuple[Vm | str, ...]  # a str: the UUID of a VM sent unchanged in the last reply

    def whole(self, last: Mapping[str, Vm]) -> HostPoll:
        """The poll, its unchanged VMs taken from `last` (the reply named by its request)."""
        vms = tuple(last[v] if isinstance(v, str) else v for v in self.vms)
        return self.poll.model_copy(update={"vms": vms})


class LastSent:
    """Where libvirt runs: the VMs of the last reply of one host's polls, and its token."""

    def __init__(self) -> None:
        self.token = ""
        self.vms: dict[str, Vm] = {}

    def reply(self, poll: HostPoll, known: str) -> PollReply:
        last = self.vms if known and known == self.token else {}
        vms = tuple(v.uuid if last.get(v.uuid) is v else v for v in poll.vms)
        self.token = uuid.uuid4().hex
        self.vms = {v.uuid: v for v in poll.vms}
        return PollReply(self.token, poll.model_copy(update={"vms": ()}), vms)
