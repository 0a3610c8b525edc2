#!/usr/bin/env python3
"""ws_bad_frame.py SOCKET NS POD: opens an exec WebSocket (v5.channel.k8s.io)
on the daemon's unix socket and sends frames a client may not send; each
must end the stream with a WebSocket close carrying the status that says
why (1002 protocol error, 1009 too big), and the daemon must stay up.
Prints what went wrong and exits 1, else exits 0."""
import base64, os, socket, struct, sys, time


def handshake(path, ns, pod):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(path)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /api/v1/namespaces/{ns}/pods/{pod}/exec?command=cat&stdin=true"
               f"&stdout=true HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
               f"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        d = s.recv(1)
        if not d:
            raise RuntimeError("no handshake answer: %r" % head)
        head += d
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError("handshake refused: %r" % head[:200])
    if b"v5.channel.k8s.io" not in head:
        raise RuntimeError("subprotocol not chosen: %r" % head)
    return s


def close_status(s):
    """The status of the server's close frame, skipping data frames."""
    buf = b""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        d = s.recv(65536)
        if not d:
            return None
        buf += d
        while len(buf) >= 2:
            n = buf[1] & 0x7f
            hl = 2 + (2 if n == 126 else 8 if n == 127 else 0)
            if n >= 126:
                if len(buf) < hl:
                    break
                n = int.from_bytes(buf[2:hl], "big")
            if len(buf) < hl + n:
                break
            op, payload, buf = buf[0] & 0x0f, buf[hl:hl + n], buf[hl + n:]
            if op == 8:
                return struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 0
    return None


CASES = [
    ("unmasked", b"\x82\x02\x00a", 1002),
    ("reserved_bits", b"\xf2\x82\x00\x00\x00\x00\x00a", 1002),
    ("reserved_opcode", b"\x83\x82\x00\x00\x00\x00\x00a", 1002),
    ("fragmented_ping", b"\x09\x80\x00\x00\x00\x00", 1002),
    ("huge", b"\x82\xff" + (1 << 40).to_bytes(8, "big") + b"\x00\x00\x00\x00", 1009),
]


def main():
    path, ns, pod = sys.argv[1:4]
    bad = []
    for name, frame, want in CASES:
        try:
            s = handshake(path, ns, pod)
            s.sendall(frame)
            got = close_status(s)
            s.close()
        except (OSError, RuntimeError) as e:
            got = "error %s" % e
        if got != want:
            bad.append("%s: close %r, want %r" % (name, got, want))
    if bad:
        print("; ".join(bad))
        return 1
    return 0


sys.exit(main())
