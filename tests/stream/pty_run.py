#!/usr/bin/env python3
"""Drives `kubectl run -ti` (argv) through a pseudo-terminal as a person
would: waits for a shell prompt, types `echo hello`, waits for hello,
types `exit`, waits for kubectl to end. Exit 0 when all of that happened
within the bounds, else 1 with what was seen."""
import os, pty, select, sys, time


def read_until(fd, want, seen, bound):
    end = time.monotonic() + bound
    while want not in seen:
        left = end - time.monotonic()
        if left <= 0:
            return seen, False
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return seen, False
            if not data:
                return seen, False
            seen += data
    return seen, True


def main():
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    seen = b""
    # busybox sh prints "/ # " as root's prompt; kubectl may first say
    # "If you don't see a command prompt, try pressing enter."
    seen, ok = read_until(fd, b"# ", seen, 60)
    if not ok:
        os.write(fd, b"\r")
        seen, ok = read_until(fd, b"# ", seen, 30)
    steps = [ok]
    if ok:
        os.write(fd, b"echo hel''lo\r")
        seen, ok = read_until(fd, b"hello\r\n", seen, 30)
        steps.append(ok)
        os.write(fd, b"exit\r")
    end = time.monotonic() + 60
    status = None
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 4096)
                seen += data
            except OSError:
                pass
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid == pid:
            status = os.waitstatus_to_exitcode(st)
            break
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    sys.stdout.write(seen.decode(errors="replace"))
    if all(steps) and len(steps) == 2 and status == 0:
        return 0
    sys.stdout.write("\n[steps %r, status %r]\n" % (steps, status))
    return 1


sys.exit(main())
