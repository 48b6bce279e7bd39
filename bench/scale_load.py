#!/usr/bin/env python3
"""Registers HOSTS x SERVICES instances (service svc-S, id host-H) of
~150-byte objects like register_web's on a daemon, over one pipelined
keep-alive connection with a window of batches in flight; every answer must
be a 201. Prints the number of object bytes sent.

Usage: bench/scale_load.py HOST PORT HOSTS SERVICES"""
import socket
import sys

host, port, hosts, services = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
count = hosts * services
batch = 1000
window = 4          # batches written ahead of the answers read
object_bytes = 0


def request(k):
    global object_bytes
    h, s = k // services, k % services
    body = ('{"site":"eu-1b","host":"ip-10-%d-%d-%d.eu-west-1.compute.internal","port":%d,'
            '"updated_at":"2026-11-21T10:00:30Z","started_at":"2026-11-21T09:58:00Z"}'
            % (h // 256 % 256, h % 256, s, 20000 + s)).encode()
    object_bytes += len(body)
    return b"PUT /svc-%d/host-%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (s, h, len(body), body)


sock = socket.create_connection((host, port))
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sent = 0
answered = 0
buf = bytearray()
while answered < count:
    while sent < count and sent - answered < window * batch:
        n = min(batch, count - sent)
        sock.sendall(b"".join(request(k) for k in range(sent, sent + n)))
        sent += n
    chunk = sock.recv(1 << 20)
    if not chunk:
        sys.exit("connection closed by the daemon")
    buf += chunk
    # Answers to PUT carry a Content-Length body; walk them whole.
    pos = 0
    while True:
        end = buf.find(b"\r\n\r\n", pos)
        if end < 0:
            break
        head = bytes(buf[pos:end])
        if not head.startswith(b"HTTP/1.1 201"):
            sys.exit("unexpected response: " + head.split(b"\r\n")[0].decode())
        i = head.lower().find(b"content-length:")
        length = int(head[i + 15:].split(b"\r\n")[0]) if i >= 0 else 0
        if len(buf) < end + 4 + length:
            break
        pos = end + 4 + length
        answered += 1
    del buf[:pos]
print(object_bytes)
