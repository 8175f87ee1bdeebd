# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Test and benchmark workload: a pure-Python loop, run by Debian's /usr/bin/python3 (built without
# frame pointers), until killed.
def work(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


while True:
    work(100000)
