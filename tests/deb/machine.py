# SPDX-License-Identifier: GPL-2.0
"""A Debian machine of make deb-test: a QEMU process booting its own disk.

Each machine has its own copy of the image (scripts/deb-image.sh) and
boots the kernel and initrd that disk's /boot holds (read with debugfs at
every start, as a boot loader would), with systemd as init. Its one NIC is
on the test's LAN (tests/deb/lan.py); the local apt repository is a
second, read-only disk. Commands run in it through qemu-guest-agent
(guest-exec) on a virtio-serial port: nothing logs in, nothing listens on
the LAN for the test.

A reboot is the guest's own (systemctl reboot): QEMU runs with
-no-reboot, exits when the guest reboots (wait_exit), and is started
again with the kernel its disk now holds. power_off() kills QEMU: a
power cut.
"""

import base64
import json
import os
import socket
import subprocess
import time


class GuestError(Exception):
    pass


class Machine:
    def __init__(self, name, workdir, image, repo_img, lan_sock, mac, kernel_release):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.disk = os.path.join(self.dir, "disk.img")
        subprocess.run(
            ["cp", "--sparse=always", "--reflink=auto", image, self.disk], check=True
        )
        self.repo_img = repo_img
        self.lan_sock = lan_sock
        self.mac = mac
        self.release = kernel_release
        self.qga_path = os.path.join(self.dir, "qga.sock")
        self.console = os.path.join(self.dir, "console.log")
        self.proc = None
        self.sock = None
        self.rbuf = b""
        self.boots = 0

    # -- the machine --------------------------------------------------------

    def _extract(self, what, out):
        r = subprocess.run(
            ["debugfs", "-R", f"dump -p {what} {out}", self.disk],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0 or not os.path.exists(out) or os.path.getsize(out) == 0:
            raise GuestError(f"{self.name}: no {what} on its disk: {r.stderr.strip()}")

    def start(self):
        """Powers the machine on (its disk's kernel)."""
        kernel = os.path.join(self.dir, "vmlinuz")
        initrd = os.path.join(self.dir, "initrd.img")
        for f in (kernel, initrd):
            if os.path.exists(f):
                os.unlink(f)
        self._extract(f"/boot/vmlinuz-{self.release}", kernel)
        self._extract(f"/boot/initrd.img-{self.release}", initrd)
        self.boots += 1
        cmd = [
            "qemu-system-x86_64",
            "-accel", "tcg",
            "-m", "768",
            "-smp", "1",
            "-display", "none",
            "-no-reboot",
            "-kernel", kernel,
            "-initrd", initrd,
            "-append",
            "root=/dev/vda ro console=ttyS0 net.ifnames=0 systemd.show_status=false",
            # cache=unsafe: the guest's flushes (dpkg syncs every file) do not
            # wait for the host's disk; what the guest wrote is in the host's
            # page cache, so a power cut (QEMU killed) loses nothing it saw
            # written, as a disk with a working write cache would.
            "-drive", f"file={self.disk},if=virtio,format=raw,cache=unsafe",
            "-drive", f"file={self.repo_img},if=virtio,format=raw,readonly=on",
            "-netdev",
            f"stream,id=lan,server=off,addr.type=unix,addr.path={self.lan_sock}",
            "-device", f"virtio-net-pci,netdev=lan,mac={self.mac}",
            "-chardev", f"socket,id=qga,path={self.qga_path},server=on,wait=off",
            "-device", "virtio-serial",
            "-device", "virtserialport,chardev=qga,name=org.qemu.guest_agent.0",
            "-serial", f"file:{self.console}.boot{self.boots}",
            "-monitor", "none",
        ]
        if os.path.exists(self.qga_path):
            os.unlink(self.qga_path)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        self.sock = None
        self.start_time = time.monotonic()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def power_off(self):
        """A power cut: QEMU killed."""
        if self.running():
            self.proc.kill()
            self.proc.wait()
        self._close()

    def _close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.rbuf = b""

    def wait_exit(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def shut_down_for_reboot(self):
        """The guest reboots itself (systemctl reboot); the agent may go
        before it answers. QEMU then exits (-no-reboot): wait_rebooted()
        starts it again. Two steps, so that machines reboot together."""
        try:
            self.run("systemctl reboot", check=False, timeout=10)
        except GuestError:
            pass
        self._close()

    def wait_rebooted(self, timeout=240):
        """QEMU exited after shut_down_for_reboot(): started again with
        the kernel `self.release` names on the machine's disk."""
        if not self.wait_exit(timeout):
            raise GuestError(f"{self.name}: did not shut down")
        self.start()

    # -- the guest agent ----------------------------------------------------

    def _send(self, obj):
        self.sock.sendall(json.dumps(obj).encode() + b"\n")

    def _recv(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.rbuf:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            try:
                got = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError
            if not got:
                raise ConnectionError("agent socket closed")
            self.rbuf += got
        line, self.rbuf = self.rbuf.split(b"\n", 1)
        # guest-sync-delimited's reply starts with 0xff
        line = line.lstrip(b"\xff").strip()
        if not line:
            return self._recv(max(0.1, end - time.monotonic()))
        return json.loads(line)

    def wait_agent(self, timeout=240):
        """Until qemu-guest-agent answers (the machine has booted that far)."""
        end = time.monotonic() + timeout
        n = 0
        while time.monotonic() < end:
            if not self.running():
                raise GuestError(f"{self.name}: QEMU exited (see {self.console}.boot{self.boots})")
            try:
                if self.sock is None:
                    self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self.sock.connect(self.qga_path)
                    self.rbuf = b""
                n += 1
                sync_id = int(time.time()) * 1000 + n
                self.sock.sendall(b"\xff")
                self._send({"execute": "guest-sync-delimited", "arguments": {"id": sync_id}})
                t = time.monotonic() + 5
                while time.monotonic() < t:
                    r = self._recv(max(0.1, t - time.monotonic()))
                    if r.get("return") == sync_id:
                        return time.monotonic() - self.start_time
            except (OSError, TimeoutError, ConnectionError, ValueError):
                self._close()
                time.sleep(1)
        raise GuestError(f"{self.name}: no guest agent after {timeout} s")

    def wait_booted(self, timeout=300):
        """Until the agent answers and systemd has finished booting;
        returns (seconds since power on, systemd's state, failed units)."""
        self.wait_agent(timeout)
        _, state, _ = self.run("systemctl is-system-running --wait", check=False, timeout=timeout)
        failed = self.run("systemctl --failed --plain --no-legend", check=False)[1]
        return time.monotonic() - self.start_time, state.strip(), failed.strip()

    def _cmd(self, execute, arguments, timeout=30):
        if self.sock is None:
            self.wait_agent(60)
        self._send({"execute": execute, "arguments": arguments})
        r = self._recv(timeout)
        if "error" in r:
            raise GuestError(f"{self.name}: {execute}: {r['error'].get('desc')}")
        return r.get("return")

    def run(self, script, input=None, timeout=120, check=True):
        """Runs `sh -c script` as root in the guest; returns (status,
        stdout, stderr). With check, a non-zero status raises."""
        args = {"path": "/bin/sh", "arg": ["-c", script], "capture-output": True}
        if input is not None:
            args["input-data"] = base64.b64encode(input.encode()).decode()
        try:
            pid = self._cmd("guest-exec", args)["pid"]
            end = time.monotonic() + timeout
            while True:
                st = self._cmd("guest-exec-status", {"pid": pid})
                if st.get("exited"):
                    break
                if time.monotonic() > end:
                    raise GuestError(f"{self.name}: '{script}' still running after {timeout} s")
                time.sleep(0.2)
        except (OSError, TimeoutError, ConnectionError) as e:
            self._close()
            raise GuestError(f"{self.name}: agent: {e!r}")
        out = base64.b64decode(st.get("out-data", "")).decode(errors="replace")
        err = base64.b64decode(st.get("err-data", "")).decode(errors="replace")
        rc = st.get("exitcode", -1 if st.get("signal") else 0)
        if check and rc != 0:
            raise GuestError(f"{self.name}: '{script}' exited {rc}: {err.strip() or out.strip()}")
        return rc, out, err

    def out(self, script, **kw):
        return self.run(script, **kw)[1].strip()

    def write(self, path, text, mode="0644"):
        self.run(
            f"mkdir -p \"$(dirname '{path}')\" && umask 077 && cat >'{path}.tmp' && chmod {mode} '{path}.tmp' && mv '{path}.tmp' '{path}'",
            input=text,
        )

    def consoles(self):
        """The machine's console output, every boot."""
        out = []
        for i in range(1, self.boots + 1):
            p = f"{self.console}.boot{i}"
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    out.append(f"===== {self.name}: boot {i} =====\n" + f.read())
        return "\n".join(out)
