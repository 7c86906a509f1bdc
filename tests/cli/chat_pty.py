#!/usr/bin/env python3
"""Drives `tinylm run MODEL` as an interactive chat through a pseudo-terminal.

Usage: chat_pty.py TINYLM MODEL
Checks: the prompt appears; /set changes a parameter and rejects a bad one;
two turns are answered and the second reuses the first's KV cache (/stats
shows tokens "from the cache"); Ctrl-C during a long answer stops the
answer, not the program; /clear and /bye work; exit status 0.
"""
import os
import pty
import re
import select
import sys
import time

tinylm, model = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.execv(tinylm, [tinylm, "run", model, "-n", "8", "--seed", "1", "-c", "4096"])

buf = b""


def read_until(pattern, timeout=60, start=0):
    """Reads until the regex matches buf[start:]; returns the match."""
    global buf
    end = time.time() + timeout
    while True:
        m = re.search(pattern, buf[start:])
        if m:
            return m
        if time.time() > end:
            sys.exit("FAIL: timed out waiting for %r; last output: %r" % (pattern, buf[-400:]))
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                data = b""
            if not data:
                sys.exit("FAIL: tinylm exited while waiting for %r: %r" % (pattern, buf[-400:]))
            buf += data


def turn(line, pattern, timeout=60):
    mark = len(buf)
    os.write(fd, line)
    return read_until(pattern, timeout, mark)


read_until(rb">>> ")
turn(b"/set temperature 0.3\n", rb"set temperature to 0\.3")
turn(b"/set top_p 7\n", rb"top_p")  # out of range: refused with a message
turn(b"/set nonsense 1\n", rb"unknown parameter")
turn(b"hello there\n", rb">>> ")
turn(b"and again\n", rb">>> ")
m = turn(b"/stats\n", rb"\((\d+) from the cache\)")
if int(m.group(1)) == 0:
    sys.exit("FAIL: the second turn reused nothing from the cache")

# A long answer, interrupted: the chat must survive and prompt again.
turn(b"/set max_tokens 3000\n", rb"set max_tokens")
mark = len(buf)
os.write(fd, b"tell me a long story\n")
time.sleep(1.5)
os.write(fd, b"\x03")
read_until(rb"\(stopped\)", 30, mark)
read_until(rb">>> ", 30, mark)
turn(b"/clear\n", rb"conversation cleared")
os.write(fd, b"/bye\n")
_, status = os.waitpid(pid, 0)
if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
    sys.exit("FAIL: tinylm did not exit cleanly after /bye (status %r)" % status)
print("chat: all checks passed")
