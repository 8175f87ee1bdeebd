#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Folds `perf script` text as FlameScope and stackcollapse-perf.pl read it, with their regular
expressions: FlameScope's event, frame and comm patterns (app/perf/regexp.py) and
stackcollapse-perf.pl's rules for "[unknown]" symbols (named after the DSO's base name, in
brackets) and --kernel ("_[k]" for kernel DSOs). Prints folded lines, sorted.
Usage: perfscript_fold.py FILE"""
import collections
import re
import sys

event_re = re.compile(r" +([0-9.]+): .+?:")
frame_re = re.compile(r"^[\t ]*[0-9a-fA-F]+ (.+) \((.*?)\)$")
comm_re = re.compile(r"^(\S.+?)\s+(\d+)/*(\d+)*\s+")  # stackcollapse-perf.pl's header

counts = collections.Counter()
stack, comm, events = [], None, 0


def flush():
    if comm is not None:
        counts[";".join([comm] + stack)] += 1


for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line:
        continue
    if line[0] != "\t":
        m = event_re.search(line)
        c = comm_re.search(line)
        if not m or not c:
            sys.exit("not an event line: %r" % line)
        flush()
        comm, stack, events = c.group(1), [], events + 1
        continue
    m = frame_re.search(line)
    if not m:
        sys.exit("not a frame line: %r" % line)
    name, dso = m.group(1), m.group(2)
    name = re.sub(r"\+0x[0-9a-f]+$", "", name)
    if name == "[unknown]":
        name = "[%s]" % dso.rsplit("/", 1)[-1]
    if re.search(r"(vmlinux|kernel\.kallsyms)", dso):
        name += "_[k]"
    stack.insert(0, name)
flush()
for k in sorted(counts):
    print("%s %d" % (k, counts[k]))
