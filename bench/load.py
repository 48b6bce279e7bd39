#!/usr/bin/env python3
"""Registers COUNT instances of ~150-byte objects on a daemon over a few
pipelined keep-alive connections; prints the number of object bytes sent."""
import socket
import sys

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
services = 100
batch = 500
total_object_bytes = 0


def body(i):
    return ('{"site":"eu-1b","host":"ip-10-%d-%d-%d.eu-west-1.compute.internal","port":%d,'
            '"updated_at":"2026-11-21T10:00:30Z","started_at":"2026-11-21T09:58:00Z"}'
            % (i // 65536 % 256, i // 256 % 256, i % 256, 20000 + i % 40000)).encode()


sock = socket.create_connection((host, port))
i = 0
while i < count:
    n = min(batch, count - i)
    out = bytearray()
    for k in range(i, i + n):
        b = body(k)
        total_object_bytes += len(b)
        out += b"PUT /svc-%d/inst-%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (k % services, k, len(b))
        out += b
    sock.sendall(out)
    # Read exactly n responses.
    buf = b""
    seen = 0
    while seen < n:
        chunk = sock.recv(1 << 20)
        if not chunk:
            sys.exit("connection closed by the daemon")
        buf += chunk
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buf[:end].decode()
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if len(buf) < end + 4 + length:
                break
            if not head.startswith("HTTP/1.1 201"):
                sys.exit("unexpected response: " + head.split("\r\n")[0])
            buf = buf[end + 4 + length:]
            seen += 1
    i += n
print(total_object_bytes)
