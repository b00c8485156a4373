"""A separate process that changes a config file (or a known_hosts file) the way mvm-tui does,
for test_config_lock.py: `hold PATH NAME` adds cluster NAME and, holding the file's lock, says
"inside" and waits for a line on stdin; `add PATH PREFIX N` adds N clusters one by one, saying
"waiting" if it finds the lock held; `accept PATH PREFIX N` accepts N host keys."""

from __future__ import annotations

import sys
from pathlib import Path

from mvm_tui.backends.ssh import HostKeyUnknown
from mvm_tui.backends.ssh.hostkeys import accept
from mvm_tui.config import ClusterConfig, Config, HostConfig, add_cluster, update_config


def cluster(name: str) -> ClusterConfig:
    return ClusterConfig(name=name, layout="external",
                         hosts=[HostConfig(name=f"{name}-h1", address="192.0.2.1")])


def main(mode: str, path: str, name: str, count: str = "1") -> None:
    target = Path(path)
    if mode == "hold":
        def change(config: Config) -> Config:
            print("inside", flush=True)
            sys.stdin.readline()
            return config.model_copy(update={"clusters": [*config.clusters, cluster(name)]})

        update_config(target, change)
    elif mode == "add":
        for i in range(int(count)):
            add_cluster(target, cluster(f"{name}{i}"))
            if i == 0:
                print("first", flush=True)
    elif mode == "accept":
        for i in range(int(count)):
            accept(HostKeyUnknown(f"{name}{i}", f"10.9.{i // 250}.{i % 250}", 22, "SHA256:x",
                                  f"ssh-ed25519 AAAA{name}{i}", str(target)))
    print("done", flush=True)


def waiting() -> None:
    print("waiting", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "add-once":  # one update that says when it finds the lock held
        update_config(Path(sys.argv[2]), lambda c: c.model_copy(update={"clusters": [
            *c.clusters, cluster(sys.argv[3])]}), on_wait=waiting)
        print("done", flush=True)
    else:
        main(*sys.argv[1:])
