"""Helpers of the end-to-end alerting tests.

- ``WebhookReceiver``: an HTTP server on the controller's address on the
  sandbox network, where the inventory's webhook integrations send
  Alertmanager's notifications. It records each POSTed payload by path
  (``/development``, ``/infrastructure``).
- ``TestFilesystem``: a small ext4 file system mounted on a sandbox host and
  filled to a chosen share, so that the disk alerts have something to fire on.
  The containers cannot create loop devices, so the controller (root) sets up
  the loop device and mounts it inside the container's mount namespace.
- ``set_error_ratio``: changes the sample service's endpoint settings on a
  host and reloads it.

Each helper can run on its own against a sandbox host:
``python tests/integration/alerting_support.py receiver|fill|errors HOST``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

RECEIVER_PORT = 19093
FILL_MOUNTPOINT = "/srv/vigil-fill"
SAMPLE_CONFIG = "/etc/user-management/config.json"


def run(*command: str, stdin: str | None = None, timeout: int = 60) -> str:
    done = subprocess.run(
        list(command),
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited with {done.returncode}: {done.stderr.strip()}"
        )
    return done.stdout


def network_gateway(network: str) -> str:
    """Return the controller's address on a Docker network.

    A network made without --gateway can lack the gateway in its settings
    (seen with Docker 20.10), so the address comes from its bridge then.
    """
    found = run(
        "docker",
        "network",
        "inspect",
        "--format",
        "{{ range .IPAM.Config }}{{ .Gateway }}{{ end }}",
        network,
    ).strip()
    if not found:
        network_id = run(
            "docker", "network", "inspect", "--format", "{{ .Id }}", network
        ).strip()
        addresses = json.loads(
            run("ip", "-4", "-json", "addr", "show", "dev", f"br-{network_id[:12]}")
        )
        found = addresses[0]["addr_info"][0]["local"]
    return str(ipaddress.ip_address(found))


@dataclass
class Notification:
    """A POST request that the receiver recorded."""

    path: str
    received: float
    payload: dict
    authorization: str | None

    @property
    def alerts(self) -> list[dict]:
        return self.payload.get("alerts", [])


@dataclass
class WebhookReceiver:
    """Records the notifications that Alertmanager's webhooks send."""

    host: str
    port: int = RECEIVER_PORT
    notifications: list[Notification] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body or b"{}")
                except json.JSONDecodeError:
                    payload = {"unparsed": body.decode(errors="replace")}
                with receiver._lock:
                    receiver.notifications.append(
                        Notification(
                            self.path,
                            time.time(),
                            payload,
                            self.headers.get("Authorization"),
                        )
                    )
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def received(
        self, path: str | None = None, since: float = 0.0
    ) -> list[Notification]:
        with self._lock:
            return [
                n
                for n in self.notifications
                if (path is None or n.path == path) and n.received >= since
            ]

    def alerts(self, path: str | None = None, since: float = 0.0) -> list[dict]:
        """Every alert of every notification, with the path added as ``path``."""
        return [
            dict(alert, path=n.path)
            for n in self.received(path, since)
            for alert in n.alerts
        ]

    def wait_for(
        self,
        match,
        timeout: float,
        path: str | None = None,
        since: float = 0.0,
        interval: float = 5.0,
    ) -> list[dict]:
        """Wait until received alerts satisfy ``match`` and return those alerts."""
        deadline = time.monotonic() + timeout
        while True:
            found = [a for a in self.alerts(path, since) if match(a)]
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(interval)


def controller_mounts(container: str) -> set[str]:
    """Return the mount points of a container that are the controller's disk.

    These are the container's volumes and bind mounts, and the hostname,
    hosts and resolv.conf files that Docker bind-mounts from its own folder.
    Their fill level and its trend are the controller's, not the host's.
    """
    details = json.loads(run("docker", "inspect", container))[0]
    found = {mount["Destination"] for mount in details.get("Mounts", [])}
    for key, path in (
        ("HostnamePath", "/etc/hostname"),
        ("HostsPath", "/etc/hosts"),
        ("ResolvConfPath", "/etc/resolv.conf"),
    ):
        if details.get(key):
            found.add(path)
    return found


def container_pid(container: str) -> int:
    return int(run("docker", "inspect", "--format", "{{ .State.Pid }}", container))


def service_pid(container: str, service: str) -> int:
    """Return a service's main PID in the controller's PID namespace."""
    inner = run(
        "docker", "exec", container, "systemctl", "show", "-p", "MainPID", "--value",
        service,
    ).strip()  # fmt: skip
    if inner in ("", "0"):
        raise RuntimeError(f"{service} does not run on {container}")
    # NSpid: the PID in each PID namespace, the controller's first.
    init = container_pid(container)
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                row.split(":", 1)
                for row in status.read_text().splitlines()
                if ":" in row
            )
        except OSError:
            continue
        pids = fields.get("NSpid", "").split()
        if len(pids) > 1 and pids[-1] == inner and _in_container(int(pids[0]), init):
            return int(pids[0])
    raise RuntimeError(f"no process of {service} on {container} found")


def _in_container(pid: int, init: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{init}/ns/pid")
    except OSError:
        return False


class TestFilesystem:
    """A small file system mounted on a sandbox host, to fill.

    ``fstype`` ext4: an image on a loop device, which node_exporter on the
    host reports with fstype ext4, as it would a real disk. ``fstype`` tmpfs:
    a tmpfs of that size, which the disk alerts must leave alone.

    The containers cannot create loop devices, so the controller (root) does,
    and mounts the file system with nsenter in two mount namespaces of the
    host: its init's, where node_exporter finds the mount list
    (/proc/1/mountinfo), and node_exporter's own, which systemd made private
    before the mount (ProtectSystem) and where it reads the sizes. Mounts in
    the container do not propagate to it. Filling and sizes use the latter.

    ``close`` (or leaving the ``with`` block) unmounts it everywhere, detaches
    the loop device and removes the image, whatever step failed before.
    """

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        container: str,
        mountpoint: str = FILL_MOUNTPOINT,
        size_mib: int = 64,
        fstype: str = "ext4",
        reader: str = "node_exporter.service",
    ) -> None:
        if fstype not in ("ext4", "tmpfs"):
            raise ValueError(f"fstype must be ext4 or tmpfs, not {fstype!r}")
        self.container = container
        self.mountpoint = mountpoint
        self.size_mib = size_mib
        self.fstype = fstype
        self.reader = reader
        self.workdir: str | None = None
        self.device: str | None = None
        self.made_dir = False
        # PIDs whose mount namespace has the device node, and the mount.
        self.nodes: list[int] = []
        self.mounts: list[int] = []
        self.files = 0

    @staticmethod
    def _enter(pid: int, script: str, *args: str) -> str:
        # nsenter keeps the controller's credentials and cgroup, so it can
        # open the loop device, which the container's device rules forbid.
        return run("nsenter", "-t", str(pid), "-m", "sh", "-c", script, "sh", *args)

    def _namespaces(self) -> list[int]:
        init = container_pid(self.container)
        pids = [init]
        reader = service_pid(self.container, self.reader)
        if os.readlink(f"/proc/{reader}/ns/mnt") != os.readlink(f"/proc/{init}/ns/mnt"):
            pids.append(reader)
        return pids

    def open(self) -> TestFilesystem:
        try:
            pids = self._namespaces()
            self.made_dir = (
                self._enter(
                    pids[0], '[ -d "$1" ] || { mkdir -p "$1" && echo made; }',
                    self.mountpoint,
                ).strip()
                == "made"
            )  # fmt: skip
            if self.fstype == "tmpfs":
                for pid in pids:
                    self._enter(
                        pid,
                        'mount -t tmpfs -o "size=$2" vigil-fill "$1"',
                        self.mountpoint,
                        f"{self.size_mib}m",
                    )
                    self.mounts.append(pid)
                return self
            self.workdir = tempfile.mkdtemp(prefix="vigil-fill-")
            image = os.path.join(self.workdir, "fill.img")
            with open(image, "wb") as handle:
                handle.truncate(self.size_mib * 1024 * 1024)
            # -m 0: no blocks reserved for root, so available is free space.
            run("mkfs.ext4", "-q", "-F", "-m", "0", image)
            self.device = run("losetup", "--find", "--show", image).strip()
            rdev = os.stat(self.device).st_rdev
            for pid in pids:
                node = self._node_path(pid, pids[0])
                self._enter(
                    pid,
                    '[ -b "$1" ] || mknod "$1" b "$2" "$3"',
                    node,
                    str(os.major(rdev)),
                    str(os.minor(rdev)),
                )
                self.nodes.append(pid)
                self._enter(pid, 'mount -t ext4 "$1" "$2"', node, self.mountpoint)
                self.mounts.append(pid)
        except BaseException:
            self.close()
            raise
        return self

    def _node_path(self, pid: int, init: int) -> str:
        # A service with PrivateDevices has a read-only /dev; its private
        # /tmp takes the device node instead.
        name = os.path.basename(self.device or "")
        return f"/dev/{name}" if pid == init else f"/tmp/vigil-fill-{name}"

    def __enter__(self) -> TestFilesystem:
        return self.open()

    def __exit__(self, *_exc) -> None:
        self.close()

    def usage(self) -> tuple[int, int]:
        """Return (available bytes, size in bytes), as node_exporter computes them."""
        block, blocks, available = self._enter(
            self.mounts[-1], 'stat -f -c "%S %b %a" "$1"', self.mountpoint
        ).split()
        return int(available) * int(block), int(blocks) * int(block)

    def fill(self, used_share: float, duration: float = 120, steps: int = 8) -> None:
        """Allocate files until ``used_share`` of the size is in use, in steps."""
        available, size = self.usage()
        target = max(0, available - int(size * (1 - used_share)))
        chunk = target // steps
        for step in range(steps):
            amount = chunk if step < steps - 1 else target - chunk * (steps - 1)
            if amount > 0:
                self.files += 1
                self._enter(
                    self.mounts[-1],
                    'fallocate -l "$1" "$2"',
                    str(amount),
                    f"{self.mountpoint}/fill-{self.files}",
                )
            if step < steps - 1:
                time.sleep(duration / (steps - 1))

    def close(self) -> None:
        problems = []

        def attempt(pid: int, script: str, *args: str) -> bool:
            try:
                self._enter(pid, script, *args)
            except RuntimeError as error:
                # A namespace whose processes all ended has nothing to undo.
                if Path(f"/proc/{pid}").exists():
                    problems.append(str(error))
                    return False
            return True

        for pid in reversed(list(self.mounts)):
            if attempt(pid, 'umount "$1" || umount -l "$1"', self.mountpoint):
                self.mounts.remove(pid)
        init = container_pid(self.container) if self.nodes or self.made_dir else 0
        for pid in reversed(list(self.nodes)):
            if attempt(pid, 'rm -f "$1"', self._node_path(pid, init)):
                self.nodes.remove(pid)
        if self.made_dir and not self.mounts:
            attempt(init, 'rmdir "$1"', self.mountpoint)
            self.made_dir = False
        if self.device and not self.mounts:
            try:
                run("losetup", "-d", self.device)
                self.device = None
            except RuntimeError as error:
                problems.append(str(error))
        if self.workdir and self.device is None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        if problems:
            raise RuntimeError("test file system cleanup: " + "; ".join(problems))


def set_error_ratio(
    container: str, ratio: float | None, saved: str | None = None
) -> str:
    """Set every endpoint's error ratio on a host and reload the sample service.

    Returns the settings file as it was, which ``saved`` puts back (with
    ``ratio`` None). The load generator is started when it has finished its
    bounded run, so that there are requests to fail.
    """
    current = run("docker", "exec", container, "cat", SAMPLE_CONFIG)
    if saved is not None:
        content = saved
    else:
        settings = json.loads(current)
        for endpoint in settings["endpoints"].values():
            endpoint["error_ratio"] = ratio
        content = json.dumps(settings, indent=4) + "\n"
    run(
        "docker",
        "exec",
        "-i",
        container,
        "sh",
        "-c",
        f"cat > {SAMPLE_CONFIG}.new && mv {SAMPLE_CONFIG}.new {SAMPLE_CONFIG}",
        stdin=content,
    )
    systemctl = ("docker", "exec", container, "systemctl")
    run(*systemctl, "reload", "user-management.service")
    run(*systemctl, "start", "user-management-load.service")
    return current


def _main() -> None:
    parser = argparse.ArgumentParser(description="Run one alerting test helper alone.")
    parser.add_argument("helper", choices=("receiver", "fill", "errors"))
    parser.add_argument("host", help="sandbox container, such as vigil-app1")
    parser.add_argument("--network", help="sandbox network (default: NAME-sandbox)")
    parser.add_argument("--ratio", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--fstype", choices=("ext4", "tmpfs"), default="ext4")
    parser.add_argument("--mountpoint", default=FILL_MOUNTPOINT)
    args = parser.parse_args()
    if args.helper == "receiver":
        network = args.network or args.host.rsplit("-", 1)[0] + "-sandbox"
        with WebhookReceiver(network_gateway(network)) as receiver:
            print(f"listening on {receiver.url}", flush=True)
            # The host posts to the receiver, which proves the route.
            run(
                "docker", "exec", args.host, "python3", "-c",
                "import urllib.request, sys; urllib.request.urlopen(urllib.request."
                "Request(sys.argv[1], b'{\"alerts\": []}', method='POST'), timeout=10)",
                receiver.url + "/development",
            )  # fmt: skip
            time.sleep(args.seconds)
            for notification in receiver.received():
                print(notification.path, json.dumps(notification.payload)[:300])
    elif args.helper == "fill":
        with TestFilesystem(
            args.host, args.mountpoint, size_mib=64, fstype=args.fstype
        ) as filesystem:
            print("mounted", filesystem.device, "at", filesystem.mountpoint, flush=True)
            filesystem.fill(0.96, duration=args.seconds)
            available, size = filesystem.usage()
            print(f"available {available} of {size} bytes ({available / size:.3f})")
            time.sleep(args.seconds)
        print("cleaned up")
    else:
        saved = set_error_ratio(args.host, args.ratio)
        print("error ratio set to", args.ratio, flush=True)
        time.sleep(args.seconds)
        set_error_ratio(args.host, None, saved=saved)
        print("settings restored")


if __name__ == "__main__":
    _main()
