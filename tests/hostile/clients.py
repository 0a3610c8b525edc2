#!/usr/bin/env python3
"""Hostile and busy clients of the netpol API server, for tests/hostile/suite.sh.

  clients.py hold PORT N SECONDS
      N idle connections to 127.0.0.1:PORT, half of them past the TLS
      handshake, reopened as the server closes them, for SECONDS; prints
      "held MAX opened TOTAL closed_by_server CLOSED".
  clients.py slowwatch PORT TOKEN N READY_FILE RESUME_FILE
      N watches of configmap-like pods that read nothing until RESUME_FILE
      exists, then read to the end; prints one line per watch: "410" when
      the stream ended with an ERROR event carrying a 410 Status, "closed"
      when it ended without one.
  clients.py load PORT TOKEN CLIENTS WATCHES SECONDS
      CLIENTS threads, each on one kept-alive connection, creating, getting
      and deleting pods, and WATCHES watches that read everything, for
      SECONDS; prints "requests N failed N".
Every client stops by itself within its time bound.
"""
import http.client
import json
import os
import resource
import socket
import ssl
import sys
import threading
import time

HOST = "127.0.0.1"


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def open_one(port, ctx, handshake):
    s = socket.create_connection((HOST, port), timeout=3)
    if handshake:
        s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    s.setblocking(False)
    return s


def alive(s):
    """False once the server closed it (peeks at the raw socket)."""
    try:
        return socket.socket.recv(s, 1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def hold(port, n, seconds):
    raise_fd_limit()
    ctx = tls_context()
    conns = []
    opened = closed = 0
    held_max = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        keep = []
        for s in conns:
            if alive(s):
                keep.append(s)
            else:
                closed += 1
                s.close()
        conns = keep
        for _ in range(n - len(conns)):
            if time.monotonic() >= end:
                break
            try:
                conns.append(open_one(port, ctx, opened % 2 == 0))
                opened += 1
            except (OSError, ssl.SSLError):
                closed += 1
        held_max = max(held_max, len(conns))
        time.sleep(0.2)
    print("held %d opened %d closed_by_server %d" % (held_max, opened, closed), flush=True)
    for s in conns:
        s.close()


def keepalive_request(conn, token, method, path, body):
    headers = {"Authorization": "Bearer " + token}
    if body is not None:
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def slowwatch(port, token, n, ready_file, resume_file):
    ctx = tls_context()
    socks = []
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection((HOST, port), timeout=10),
                            server_hostname="127.0.0.1")
        s.sendall(("GET /api/v1/namespaces/default/pods?watch=1&resourceVersion=1 HTTP/1.1\r\n"
                   "Host: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n" % token).encode())
        socks.append(s)
    open(ready_file, "w").close()
    deadline = time.monotonic() + 300
    while not os.path.exists(resume_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    deadline = time.monotonic() + 60
    for s in socks:
        data = b""
        try:
            while True:
                s.settimeout(max(0.1, deadline - time.monotonic()))
                chunk = s.recv(1 << 16)
                if not chunk:
                    break
                data += chunk
                if b'"code":410' in data[-4096:] and data.endswith(b"\r\n0\r\n\r\n"):
                    break
        except (OSError, ssl.SSLError):
            pass
        s.close()
        print("410" if b'"type":"ERROR"' in data and b'"code":410' in data else "closed",
              flush=True)


def pod(name):
    return json.dumps({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "labels": {"app": "load"}},
                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}})


def load(port, token, clients, watches, seconds):
    ctx = tls_context()
    end = time.monotonic() + seconds
    counts = {"requests": 0, "failed": 0}
    lock = threading.Lock()

    def worker(i):
        # one kept-alive connection per client, as kubectl's and client-go's
        k = 0
        conn = None
        while time.monotonic() < end:
            name = "load-%d-%d" % (i, k)
            k += 1
            steps = [("POST", "/api/v1/namespaces/default/pods", pod(name), 201),
                     ("GET", "/api/v1/namespaces/default/pods/" + name, None, 200),
                     ("DELETE", "/api/v1/namespaces/default/pods/" + name, None, 200)]
            for method, path, body, want in steps:
                if conn is None:
                    conn = http.client.HTTPSConnection(HOST, port, context=ctx, timeout=10)
                try:
                    status, _ = keepalive_request(conn, token, method, path, body)
                    ok = status == want
                except (OSError, ssl.SSLError, http.client.HTTPException):
                    ok = False
                    conn.close()
                    conn = None
                with lock:
                    counts["requests"] += 1
                    counts["failed"] += not ok
        if conn is not None:
            conn.close()

    def watcher():
        while time.monotonic() < end:
            left = int(end - time.monotonic()) + 1
            try:
                s = ctx.wrap_socket(socket.create_connection((HOST, port), timeout=10),
                                    server_hostname="127.0.0.1")
                s.sendall(("GET /api/v1/namespaces/default/pods?watch=1&timeoutSeconds=%d HTTP/1.1\r\n"
                           "Host: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer %s\r\n\r\n" % (left, token)).encode())
                s.settimeout(left + 10)
                while s.recv(1 << 16):
                    pass
                s.close()
            except (OSError, ssl.SSLError):
                time.sleep(0.5)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    threads += [threading.Thread(target=watcher) for _ in range(watches)]
    for t in threads:
        t.daemon = True
        t.start()
    for t in threads:
        t.join(seconds + 60)
    print("requests %d failed %d" % (counts["requests"], counts["failed"]), flush=True)


def main():
    cmd = sys.argv[1]
    a = sys.argv[2:]
    if cmd == "hold":
        hold(int(a[0]), int(a[1]), float(a[2]))
    elif cmd == "slowwatch":
        slowwatch(int(a[0]), a[1], int(a[2]), a[3], a[4])
    elif cmd == "load":
        load(int(a[0]), a[1], int(a[2]), int(a[3]), float(a[4]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
