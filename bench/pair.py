#!/usr/bin/env python3
"""Paired timing of two commands as whole processes, as their users run them: A and B
alternate (A B A B …, the first pair a warm-up that is not counted), each run's wall time,
CPU time (user + system, children included) and peak RSS read from the kernel (wait4), and
the medians of the per-pair ratios B/A printed with each side's medians.

Usage: pair.py RUNS NAME_A NAME_B -- A... -- B...
  (a command may write into files: each run starts from the same inputs; outputs are
  overwritten). Prints one table and a RESULT line. Standard library only.
"""
import os, statistics, subprocess, sys, time


def run(cmd):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed ({os.waitstatus_to_exitcode(status)}): {' '.join(cmd)}\n{err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main():
    args = sys.argv[1:]
    runs, name_a, name_b = int(args[0]), args[1], args[2]
    rest = args[3:]
    if rest[:1] != ["--"] or "--" not in rest[1:]:
        sys.exit(__doc__)
    split = rest.index("--", 1)
    cmd_a, cmd_b = rest[1:split], rest[split + 1:]
    run(cmd_a), run(cmd_b)  # warm-up: caches, page cache, lazily built tools
    a, b = [], []
    for _ in range(runs):
        a.append(run(cmd_a))
        b.append(run(cmd_b))
    med = lambda xs, i: statistics.median(x[i] for x in xs)
    ratio = lambda i: statistics.median(y[i] / x[i] for x, y in zip(a, b))
    print(f"{'':24} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}   ({runs} pairs, medians)")
    for name, xs in [(name_a, a), (name_b, b)]:
        print(f"{name:24} {med(xs, 0):8.3f} {med(xs, 1):8.3f} {med(xs, 2):9.0f}")
    print(f"{name_b + ' / ' + name_a:24} {ratio(0):8.2f}x {ratio(1):7.2f}x {ratio(2):8.2f}x   (median of per-pair ratios)")
    print(
        f"RESULT a={name_a} b={name_b} pairs={runs} a_wall={med(a, 0):.3f} b_wall={med(b, 0):.3f} "
        f"a_cpu={med(a, 1):.3f} b_cpu={med(b, 1):.3f} a_rss_mib={med(a, 2):.0f} b_rss_mib={med(b, 2):.0f} "
        f"wall_ratio={ratio(0):.3f} cpu_ratio={ratio(1):.3f} rss_ratio={ratio(2):.3f}"
    )


main()
