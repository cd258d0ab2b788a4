"""Network namespaces on one host standing in for machines: a bridge on the host, one namespace per
"machine", each joined to the bridge by a veth pair (docs/deploy.md#the-multi-node-harness).

    host (root namespace)           bridge <prefix>-br, 10.231.18.1/24: the relays to PostgreSQL/Redis
      |- <prefix>-n1  10.231.18.11  a node: uvicorn workers
      |- <prefix>-n2  10.231.18.12
      |- <prefix>-r1  10.231.18.21  a fake GPU replica
      ...

Namespaces on one bridge reach each other directly (no routing, no sysctl on the host). Every name
starts with the prefix (MULTINODE_PREFIX, default `ip18`), and `remove_stale` deletes only names
this harness would create, so a crashed run is cleaned up by the next one without touching anything
else on the machine. Needs root (CAP_NET_ADMIN) and `ip` from iproute2.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import subprocess
from dataclasses import dataclass, field

PREFIX = os.environ.get("MULTINODE_PREFIX", "ip18")
SUBNET = ipaddress.ip_network(os.environ.get("MULTINODE_SUBNET", "10.231.18.0/24"))
HOST_ADDRESS = str(SUBNET.network_address + 1)
NODE_HOSTS = 10  # node n gets .10+n, replica n gets .20+n
REPLICA_HOSTS = 20
MAX_MACHINES = 9  # per kind: keeps addresses and interface names (15 chars) in range


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and done.returncode != 0:
        # Typically a container without CAP_NET_ADMIN / CAP_SYS_ADMIN: say so, with ip's own words.
        raise RuntimeError(f"`ip {' '.join(args)}` failed: {done.stderr.strip()}")
    return done


@dataclass(frozen=True, slots=True)
class Machine:
    name: str  # n1, r2, ...
    address: str

    @property
    def namespace(self) -> str:
        return f"{PREFIX}-{self.name}"

    def command(self, argv: list[str]) -> list[str]:
        """`argv`, run inside this machine's namespace."""
        return ["ip", "netns", "exec", self.namespace, *argv]


@dataclass
class Topology:
    nodes: int
    replicas: int
    machines: dict[str, Machine] = field(default_factory=dict)

    @property
    def bridge(self) -> str:
        return f"{PREFIX}-br"

    def __enter__(self) -> Topology:
        if not 0 < self.nodes <= MAX_MACHINES or not 0 < self.replicas <= MAX_MACHINES:
            raise ValueError(f"1-{MAX_MACHINES} nodes and replicas")
        remove_stale()
        try:
            self._create()
        except BaseException:
            remove_stale()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        remove_stale()

    def node(self, index: int) -> Machine:
        return self.machines[f"n{index}"]

    def replica(self, index: int) -> Machine:
        return self.machines[f"r{index}"]

    def _create(self) -> None:
        prefix_len = SUBNET.prefixlen
        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{HOST_ADDRESS}/{prefix_len}", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        wanted = [(f"n{i}", NODE_HOSTS + i) for i in range(1, self.nodes + 1)]
        wanted += [(f"r{i}", REPLICA_HOSTS + i) for i in range(1, self.replicas + 1)]
        for name, host in wanted:
            machine = Machine(name=name, address=str(SUBNET.network_address + host))
            self._add(machine, prefix_len)
            self.machines[name] = machine

    def _add(self, machine: Machine, prefix_len: int) -> None:
        outside, inside = f"{machine.namespace}h", f"{machine.namespace}c"
        ip("netns", "add", machine.namespace)
        ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        ip("link", "set", outside, "master", self.bridge, "up")
        ip("link", "set", inside, "netns", machine.namespace)
        inns = ["-n", machine.namespace]
        ip(*inns, "addr", "add", f"{machine.address}/{prefix_len}", "dev", inside)
        ip(*inns, "link", "set", inside, "up")
        ip(*inns, "link", "set", "lo", "up")


def harness_names() -> tuple[set[str], set[str]]:
    """The namespaces and links with our prefix that exist now (this harness's, current or stale)."""
    machines = {f"{kind}{i}" for kind in ("n", "r") for i in range(1, MAX_MACHINES + 1)}
    namespaces = {f"{PREFIX}-{name}" for name in machines}
    links = {f"{PREFIX}-br"} | {f"{namespace}h" for namespace in namespaces}
    present_ns = {line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line.strip()}
    present_links = {line.split(":")[1].strip().split("@")[0] for line in ip("-o", "link").stdout.splitlines()}
    return namespaces & present_ns, links & present_links


def remove_stale() -> None:
    """Delete every namespace and link this harness creates (the processes in them must be gone)."""
    namespaces, links = harness_names()
    for link in sorted(links):
        ip("link", "del", link, check=False)
    for namespace in sorted(namespaces):
        _kill_leftovers(namespace)
        ip("netns", "del", namespace, check=False)


def _kill_leftovers(namespace: str) -> None:
    """Processes still in one of our namespaces were started by a harness run (ours or a crashed one)."""
    pids = ip("netns", "pids", namespace, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
