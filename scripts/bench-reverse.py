#!/usr/bin/env python3
"""Reverse-execution benchmark: Debian's i386 kernel and busybox (scripts/fetch-linux.sh)
boot on popek's JIT under its gdb stub (-gdb tcp), driven over the remote protocol the
way gdb drives it. After SECONDS of boot (Ctrl-C, as gdb sends it) it times:

  c        the rate of that boot, forward;
  bs       reverse-stepi, twice (the second starts from a checkpoint the first left);
  bc/bp    reverse-continue with a breakpoint nowhere in the history: the scan crosses
           all of it back to its start ("replaylog:begin");
  c/watch  the rate forward again from there, with a write watchpoint on bytes nothing
           writes, for SECONDS;
  bc/watch reverse-continue with that watchpoint;
and prints each with the instructions crossed and the rate. The stub's targets: a
reverse step under 0.2 s, reverse-continue across 10^9 instructions under 10 s.

usage: scripts/bench-reverse.py [--seconds S] [POPEK]   (default: build/popek; S = 3)
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "guest"))
import gdb_remote  # noqa: E402
from gdb_remote import packet  # noqa: E402


class Client(gdb_remote.Client):
    def ask(self, payload):
        r = super().ask(payload)
        while r.startswith(b"O") and r != b"OK":  # console output of qRcmd or a refusal
            sys.stderr.write(bytes.fromhex(r[1:].decode()).decode(errors="replace"))
            r = self.reply()
        return r

    def icount(self):
        self.s.sendall(packet(b"qRcmd," + b"info registers".hex().encode()))
        text = b""
        while True:
            r = self.reply()
            if r.startswith(b"O") and r != b"OK":
                text += bytes.fromhex(r[1:].decode())
            else:
                break
        m = re.search(rb"ICOUNT=(\d+)", text)
        return int(m.group(1)) if m else -1


def timed(c, payload):
    t0 = time.monotonic()
    r = c.ask(payload)
    return time.monotonic() - t0, r


def main():
    args = sys.argv[1:]
    seconds = 3.0
    popek = os.path.join(ROOT, "build", "popek")
    while args:
        a = args.pop(0)
        if a == "--seconds" and args:
            seconds = float(args.pop(0))
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            popek = a
    if not os.access(popek, os.X_OK):
        sys.exit("bench-reverse: no popek binary at %s" % popek)
    if subprocess.call(["bash", os.path.join(HERE, "fetch-linux.sh")], stdin=subprocess.DEVNULL) != 0:
        return 1
    g = os.path.join(ROOT, "guests", "linux")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    tmp = tempfile.mkdtemp()
    serial = os.path.join(tmp, "serial.out")
    p = subprocess.Popen([popek, "-m", "256", "-no-reboot", "-snapshot", "-hda", os.path.join(g, "disk.img"),
                          "-kernel", os.path.join(g, "vmlinuz"), "-initrd", os.path.join(g, "initramfs.cpio.gz"),
                          "-append", "console=ttyS0 loglevel=4", "-serial", "file:" + serial,
                          "-rtc", "base=2001-02-03T04:05:06", "-S", "-gdb", "tcp::%d" % port],
                         stdin=subprocess.DEVNULL)
    try:
        c = Client(port, timeout=600, tries=100)
        c.ask(b"?")
        c.s.sendall(packet(b"c"))
        time.sleep(seconds)
        c.s.sendall(b"\x03")
        c.reply()
        n = c.icount()
        print("history: %d instructions (%.1f s of boot under the stub)" % (n, seconds))
        print("c         %.0f M/s forward, no watchpoint" % (n / seconds / 1e6))
        for k in (1, 2):
            t, r = timed(c, b"bs")
            print("bs        %.3f s   (reverse-stepi %d: %s)" % (t, k, r.decode()))
        here = c.icount()
        # Nowhere in the history: a linear address in the kernel's direct map of the ISA
        # hole (0xA0000), which a serial-console boot never runs or writes.
        nowhere = 0xC00A0000
        c.ask(b"Z0,%x,1" % nowhere)
        t, r = timed(c, b"bc")
        print("bc/bp     %.3f s   across %d instructions: %.0f M/s (%s)" % (t, here, here / t / 1e6, r.decode()))
        c.ask(b"z0,%x,1" % nowhere)
        # Forward again, from the start of history, with the watchpoint set.
        c.ask(b"Z2,%x,4" % nowhere)
        start = c.icount()
        c.s.sendall(packet(b"c"))
        time.sleep(seconds)
        c.s.sendall(b"\x03")
        c.reply()
        here = c.icount()
        print("c/watch   %.0f M/s forward with a write watchpoint" % ((here - start) / seconds / 1e6))
        t, r = timed(c, b"bc")
        print("bc/watch  %.3f s   across %d instructions: %.0f M/s (%s)" % (t, here, here / t / 1e6, r.decode()))
        c.ask(b"z2,%x,4" % nowhere)
        c.s.sendall(packet(b"k"))
        p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    return 0


sys.exit(main())
