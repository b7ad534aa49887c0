#!/usr/bin/env python3
"""gdb's Ctrl-C, as gdb sends it: a raw 0x03 byte while the guest runs must stop it and
bring a T02 stop reply; the guest then goes on, and a second client can connect after
the first detached. Drives popek's stub over TCP with the remote protocol directly
(gdb's own interrupt needs a terminal).

usage: gdb_interrupt.py POPEK GUEST_ELF   (a guest that never ends: idle_loop.elf)
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gdb_remote import Client, packet  # noqa: E402


def main():
    popek, elf = sys.argv[1], sys.argv[2]
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = subprocess.Popen([popek, "-gdb", "tcp::%d" % port, "-kernel", elf, "-serial", "none",
                          "-debugcon", "none", "-icount", "shift=3,sleep=on"])
    fails = 0
    try:
        c = Client(port)
        stop = c.ask(b"?")
        print("attached:", stop.decode())
        if not stop.startswith(b"T"):
            fails += 1
        eip1 = c.ask(b"p8")
        c.s.sendall(packet(b"c"))
        time.sleep(0.3)
        c.s.sendall(b"\x03")
        stop = c.reply()
        print("after Ctrl-C:", stop.decode())
        if not stop.startswith(b"T02"):
            print("FAIL: expected a T02 stop reply")
            fails += 1
        out = c.ask(b"qRcmd," + b"info registers".hex().encode())
        # The monitor's text comes in O packets, then the reply OK.
        while out.startswith(b"O") and out != b"OK":
            print("monitor:", bytes.fromhex(out[1:].decode()).decode().splitlines()[0])
            out = c.reply()
        if out != b"OK":
            print("FAIL: qRcmd replied", out)
            fails += 1
        if c.ask(b"D") != b"OK":
            fails += 1
        c.s.close()
        time.sleep(0.2)
        if p.poll() is not None:
            print("FAIL: popek ended after the detach")
            fails += 1
        c2 = Client(port)
        stop = c2.ask(b"?")
        print("second client:", stop.decode())
        if not stop.startswith(b"T"):
            fails += 1
        c2.s.sendall(packet(b"k"))
        p.wait(timeout=10)
        print("popek exit status after kill:", p.returncode)
        if p.returncode != 0:
            fails += 1
    finally:
        if p.poll() is None:
            p.kill()
    print("PASS" if fails == 0 else "FAIL: %d" % fails)
    return 1 if fails else 0


sys.exit(main())
