"""Delay packets by a fixed time with NFQUEUE: netem for kernels built without sch_netem.

Run inside a lab host's netns with an iptables rule such as
``iptables -A OUTPUT -o eth0 -j NFQUEUE --queue-num 0 --queue-bypass``:
every queued packet is accepted `delay_ms` after it was queued, in order (packet ids grow, so
one batch verdict releases every packet due). Standalone: only the standard library.

Usage: python3 nfqdelay.py DELAY_MS PIDFILE [QUEUE]
"""

from __future__ import annotations

import collections
import os
import select
import socket
import struct
import sys
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
MSG_PACKET, MSG_CONFIG, MSG_VERDICT_BATCH = 0, 2, 3
CFG_CMD, CFG_PARAMS, CFG_QUEUE_MAXLEN, CFG_MASK, CFG_FLAGS = 1, 2, 3, 4, 5
CMD_BIND = 1
COPY_META = 1
F_FAIL_OPEN = 1
PACKET_HDR, VERDICT_HDR = 1, 2
NF_ACCEPT = 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def _msg(kind: int, queue: int, attrs: bytes, flags: int = NLM_F_REQUEST) -> bytes:
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + attrs
    kind |= NFNL_SUBSYS_QUEUE << 8
    return struct.pack("=IHHII", 16 + len(body), kind, flags, 0, 0) + body


def _config(sock: socket.socket, queue: int, attrs: bytes) -> None:
    sock.send(_msg(MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK))
    data = sock.recv(65536)
    kind = struct.unpack_from("=H", data, 4)[0]
    if kind == NLMSG_ERROR:
        err = struct.unpack_from("=i", data, 16)[0]
        if err:
            raise OSError(-err, f"nfnetlink_queue config: {os.strerror(-err)}")


def _packet_ids(data: bytes) -> list[int]:
    ids, off = [], 0
    while off + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, off)
        if length < 16:
            break
        if kind == (NFNL_SUBSYS_QUEUE << 8) | MSG_PACKET:
            a = off + 20
            while a + 4 <= off + length:
                alen, atype = struct.unpack_from("=HH", data, a)
                if alen < 4:
                    break
                if atype & 0x7FFF == PACKET_HDR:
                    ids.append(struct.unpack_from("!I", data, a + 4)[0])
                a += (alen + 3) & ~3
        off += (length + 3) & ~3
    return ids


def serve(delay_ms: float, pidfile: str, queue: int = 0) -> None:
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root)
    sock.bind((0, 0))
    _config(sock, queue, _attr(CFG_CMD, struct.pack("!BxH", CMD_BIND, socket.AF_INET)))
    _config(sock, queue, _attr(CFG_PARAMS, struct.pack("!IB", 0, COPY_META))
            + _attr(CFG_QUEUE_MAXLEN, struct.pack("!I", 20000))
            + _attr(CFG_FLAGS, struct.pack("!I", F_FAIL_OPEN))
            + _attr(CFG_MASK, struct.pack("!I", F_FAIL_OPEN)))
    with open(pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(pidfile + ".tmp", pidfile)
    delay = delay_ms / 1000
    pending: collections.deque[tuple[float, int]] = collections.deque()
    while True:
        wait = max(0.0, pending[0][0] - time.monotonic()) if pending else None
        if select.select([sock], [], [], wait)[0]:
            try:
                data = sock.recv(1 << 20)
            except OSError:  # ENOBUFS: the kernel dropped messages; keep going
                continue
            due = time.monotonic() + delay
            pending.extend((due, i) for i in _packet_ids(data))
        now, last = time.monotonic(), None
        while pending and pending[0][0] <= now:
            last = pending.popleft()[1]
        if last is not None:
            verdict = _attr(VERDICT_HDR, struct.pack("!II", NF_ACCEPT, last))
            sock.send(_msg(MSG_VERDICT_BATCH, queue, verdict))


if __name__ == "__main__":
    serve(float(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0)
