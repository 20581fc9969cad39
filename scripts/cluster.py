#!/usr/bin/env python3
"""scripts/cluster: the SSO as several machines, on this one: Linux network namespaces joined by a bridge, with
addresses that exist only inside them (one /24; the bridge has no address and no uplink, the namespaces have no default
route, and the host's own namespace gets an `unreachable` route for the /24 while the cluster is up, so no packet to or
from these addresses leaves the machine).

  ssoc-mc1, ssoc-mc2, ssoc-mc3   memcached on 10.213.13.11-13:11211, replicas 1 (every item on two of them)
  ssoc-app1, ssoc-app2           nginx (HTTPS 8443) + AppAuthFCGI + the echo apps, on 10.213.13.21 and .22
  ssoc-accounts                  nginx + AccountsFCGI on 10.213.13.31
  ssoc-client                    10.213.13.2: where clients (curl, the cluster tests) run

Every host is a scripts/ssostack.py Stack: its own state folder, config and processes, started inside its namespace;
they share only the demo CA, the JWT keys and the users file (as machines would share a deployment), and memcached.
`up` leaves the processes running and writes cluster.json; `down` stops them and removes every namespace and link.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import netns
from ssostack import ROOT, Stack

PREFIX = "ssoc"
SUBNET = "10.213.13"
HOSTS = {"client": 2, "mc1": 11, "mc2": 12, "mc3": 13, "app1": 21, "app2": 22, "accounts": 31}
MEMCACHED = ["mc1", "mc2", "mc3"]
APPS = ["app1", "app2"]
HTTPS_PORT = 8443
MEMCACHED_PORT = 11211


class Network:
    """Network namespaces `<prefix>-<host>` joined by a bridge `<prefix>-br`, host `h` at `<subnet>.<hosts[h]>`."""

    def __init__(self, prefix, subnet, hosts):
        self.prefix, self.subnet, self.hosts = prefix, subnet, hosts
        self.bridge = f"{prefix}-br"

    def namespace(self, host):
        return f"{self.prefix}-{host}"

    def veth(self, host):
        """The host side of the host's veth pair (at most 15 characters)."""
        return f"v{self.prefix}-{host}"[:15]

    def address(self, host):
        return f"{self.subnet}.{self.hosts[host]}"

    def up(self):
        """The bridge (no address: the host itself has no way onto it) and one namespace per host, each with a veth on
        it."""
        self.down()
        # The host's own namespace must never send to these addresses: without this route its default route would
        # carry such a packet off the machine. The namespaces have no default route at all.
        sh("ip", "route", "add", "unreachable", f"{self.subnet}.0/24")
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        # Bridged frames are not handed to the host's iptables (br_netfilter), whose FORWARD policy may drop them.
        sh("ip", "link", "set", self.bridge, "type", "bridge", "nf_call_iptables", "0", check=False)
        sh("ip", "link", "set", self.bridge, "up")
        for host in self.hosts:
            ns = self.namespace(host)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", self.veth(host), "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "link", "set", self.veth(host), "master", self.bridge, "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def down(self):
        """Removes every link and namespace `up` makes. The veths go first, from this side: a deleted namespace lives on
        (with its end of the veth) while sockets made in it linger, e.g. in TIME_WAIT."""
        for host in self.hosts:
            sh("ip", "link", "del", self.veth(host), check=False)
            sh("ip", "netns", "del", self.namespace(host), check=False)
        sh("ip", "link", "del", self.bridge, check=False)
        sh("ip", "route", "del", "unreachable", f"{self.subnet}.0/24", check=False)


NETWORK = Network(PREFIX, SUBNET, HOSTS)
namespace, veth, address = NETWORK.namespace, NETWORK.veth, NETWORK.address
network_up, network_down = NETWORK.up, NETWORK.down


def sh(*cmd, check=True):
    return subprocess.run([str(c) for c in cmd], check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def can_make_namespaces():
    """None when this machine lets us make network namespaces and bridges, else the reason it does not."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    probe = f"{PREFIX}-probe"
    made = sh("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    bridge = sh("ip", "link", "add", f"{PREFIX}-pbr", "type", "bridge", check=False)
    sh("ip", "link", "del", f"{PREFIX}-pbr", check=False)
    sh("ip", "netns", "del", probe, check=False)
    return None if bridge.returncode == 0 else f"cannot make a bridge: {bridge.stderr.strip()}"


class HostStack(Stack):
    """One host of the cluster: a Stack whose processes run inside its namespace and whose nginx and memcached listen on
    its address."""

    def __init__(self, state, bin_dir, host, memcached_options, overrides=None, log_level="info"):
        o = dict(overrides or {})
        o["config"] = {"accounts.workers": 8, **o.get("config", {}), **memcached_options}
        super().__init__(Path(state) / host, bin_dir, https_port=HTTPS_PORT, overrides=o, log_level=log_level)
        self.host = host
        self.address = address(host)
        self.command_prefix = ["ip", "netns", "exec", namespace(host)]
        self.memcached_port = MEMCACHED_PORT
        # One nginx worker: `ssoctl generate` sizes each upstream's keepalive to half the program's workers, and that
        # is per nginx worker, so with two every FastCGI worker can sit on an idle kept-alive connection while a new
        # request waits (seen here as 15 s stalls at the accounts host under 8 concurrent sign-ins).
        self.nginx_workers = 1
        # Hundreds of test browsers each keep a connection and come back at random, some after about 30 s: nginx
        # closing an idle connection just as a client sends on it is a race every HTTP client has (browsers retry the
        # request; requests does not), not what this test is about. Seen once in CI as RemoteDisconnected on a sweep.
        self.keepalive_timeout = 600

    def listening(self, port):
        return netns.accepts(namespace(self.host), self.address, port) or netns.accepts(namespace(self.host), "127.0.0.1", port)

    def share(self, shared):
        """The CA, keys and users file of the deployment, the same on every host."""
        for name in ("pki", "keys", "users.yaml"):
            link = self.state / name
            if link.is_symlink() or link.is_file():
                link.unlink()
            elif link.is_dir():
                link.rmdir()
            link.symlink_to(shared / name)

    def start_role(self):
        if self.host in MEMCACHED:
            self.start_memcached()
            return
        self.make_config()
        if self.host in APPS:
            self.start_fcgi(programs=("appauth",))
            self.start_apps()
        else:
            self.start_fcgi(programs=("accounts",))
        self.start_nginx()

    def pids(self):
        return {name: proc.pid for name, proc in self.procs.items() if proc.poll() is None}


class Cluster:
    """The whole cluster: `up()` builds the network and starts every host; `down()` removes it all."""

    def __init__(self, state, bin_dir, replicas=1, overrides=None, log_level="info", memcached=None):
        self.state = Path(state).resolve()
        self.bin = Path(bin_dir).resolve()
        self.memcached_options = {"memcached.servers": [f"{address(m)}:{MEMCACHED_PORT}" for m in MEMCACHED],
                                  "memcached.replicas": replicas, **(memcached or {})}
        self.overrides = overrides or {}
        self.log_level = log_level
        self.hosts = {}

    @property
    def ca(self):
        return self.state / "shared" / "pki" / "ca.crt"

    def host(self, name):
        return self.hosts[name]

    def up(self):
        self.state.mkdir(parents=True, exist_ok=True)
        shared = Stack(self.state / "shared", self.bin)
        shared.make_pki()
        shared.make_keys()
        shared.make_users()
        network_up()
        try:
            for name in HOSTS:
                if name == "client":
                    continue
                host = HostStack(self.state, self.bin, name, self.memcached_options, self.overrides, self.log_level)
                host.share(shared.state)
                self.hosts[name] = host
            for name in MEMCACHED + ["accounts"] + APPS:
                self.hosts[name].start_role()
        except BaseException:
            self.down()
            raise
        self.save()
        return self

    def save(self):
        (self.state / "cluster.json").write_text(json.dumps(
            {name: {"address": address(name), "namespace": namespace(name), "pids": h.pids()} for name, h in self.hosts.items()},
            indent=2))

    def down(self):
        for host in self.hosts.values():
            for proc in host.procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGCONT)
            host.stop()
        stop_recorded(self.state)
        network_down()

    # ---- faults, for the tests

    def memcached_pid(self, name):
        return self.hosts[name].procs["memcached"].pid

    def signal_memcached(self, name, sig):
        os.killpg(self.memcached_pid(name), sig)

    def crash_memcached(self, name):
        """SIGKILL, as a crash: the items are gone."""
        proc = self.hosts[name].procs.pop("memcached")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def restart_memcached(self, name):
        self.hosts[name].start_memcached()
        self.save()

    def stop_appauth(self, app):
        proc = self.hosts[app].procs.pop("appauth")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def start_appauth(self, app):
        self.hosts[app].start_fcgi(programs=("appauth",))
        self.save()


def stop_recorded(state):
    """Stops the processes cluster.json names (from an earlier `up`), SIGTERM then SIGKILL."""
    record = Path(state) / "cluster.json"
    if not record.exists():
        return
    groups = [pid for host in json.loads(record.read_text()).values() for pid in host["pids"].values()]
    for sig in (signal.SIGCONT, signal.SIGTERM):
        for pid in groups:
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(p) for p in groups):
        time.sleep(0.1)
    for pid in groups:
        if alive(pid):
            os.killpg(pid, signal.SIGKILL)
    record.unlink()


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin", default=str(ROOT / ".build" / "release"))
    parser.add_argument("--state", default=str(ROOT / ".state" / "cluster"))
    parser.add_argument("--down", action="store_true", help="stop every process and remove the namespaces and the bridge")
    parser.add_argument("--replicas", type=int, default=1)
    args = parser.parse_args()
    if args.down:
        stop_recorded(args.state)
        network_down()
        print("Cluster removed.")
        return
    reason = can_make_namespaces()
    if reason:
        sys.exit(f"cannot make the cluster here: {reason}")
    stop_recorded(args.state)
    cluster = Cluster(args.state, args.bin, replicas=args.replicas).up()
    ca = cluster.ca
    print(f"""
SSO cluster is up: memcached x3 (replicas {args.replicas}), 2 app hosts, 1 accounts host, in network namespaces on {NETWORK.bridge}.
  {"host":<10} {"namespace":<14} address
""" + "\n".join(f"  {h:<10} {namespace(h):<14} {address(h)}" for h in HOSTS) + f"""

From the client namespace (infusion and dextor are on app1 {address('app1')} and app2 {address('app2')}):
  ip netns exec {namespace('client')} curl --cacert {ca} \\
      --resolve infusion.iqueue.test:{HTTPS_PORT}:{address('app1')} -i https://infusion.iqueue.test:{HTTPS_PORT}/
Users: alice / wonderland, bob / builder.   Logs: {cluster.state}/<host>/logs/   Processes: {cluster.state}/cluster.json
Stop and remove it all: scripts/cluster --down
""")


if __name__ == "__main__":
    main()
