"""A client of gdb's remote protocol over TCP, as gdb speaks it to popek's stub (raw
packets, acknowledgements, Ctrl-C as a 0x03 byte): tests/guest/gdb_interrupt.py and
scripts/bench-reverse.py drive the stub with it."""
import socket
import time


def packet(payload):
    return b"$" + payload + b"#" + b"%02x" % (sum(payload) & 0xFF)


class Client:
    def __init__(self, port, timeout=10, tries=50):
        for _ in range(tries):
            try:
                self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("FAIL: cannot connect to the stub")
        # As gdb's own: without it an acknowledgement followed by the next request waits
        # for a delayed ACK (40 ms).
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def reply(self):
        """The next packet's payload (acknowledged)."""
        while True:
            start = self.buf.find(b"$")
            end = self.buf.find(b"#", start)
            if start >= 0 and end >= 0 and len(self.buf) >= end + 3:
                body = self.buf[start + 1:end]
                self.buf = self.buf[end + 3:]
                self.s.sendall(b"+")
                return body
            data = self.s.recv(65536)
            if not data:
                raise SystemExit("FAIL: the stub closed the connection")
            self.buf += data

    def ask(self, payload):
        self.s.sendall(packet(payload))
        return self.reply()
