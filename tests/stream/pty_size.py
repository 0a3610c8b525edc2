#!/usr/bin/env python3
"""pty_size.py ROWS COLS CMD...: runs CMD on a pseudo-terminal of ROWS x
COLS and prints what it wrote (kubectl sends the size as a resize)."""
import fcntl, os, pty, select, struct, sys, termios, time

rows, cols = int(sys.argv[1]), int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(sys.argv[3], sys.argv[3:])
out, end = b"", time.monotonic() + 60
while time.monotonic() < end:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            d = os.read(fd, 4096)
        except OSError:
            d = b""
        if not d:
            break
        out += d
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
