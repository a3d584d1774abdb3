#!/usr/bin/env python3
"""example.py - lesson 07 in Python: Pool.map and imap_unordered, and a worker that dies.

    python3 example.py                          # Pool(5).map(square, range(20))
    python3 example.py --unordered              # imap_unordered: results as they come
    python3 example.py --chunksize 4            # four tasks per message to a worker
    python3 example.py --crash-on 3             # Pool: the task is lost and map() waits for ever
    python3 example.py --crash-on 3 --executor  # ProcessPoolExecutor: BrokenProcessPool at once
"""
import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import Pool

ARGS = None


def square(x):
    if x == ARGS.crash_on:
        os._exit(1)                 # a crash in the middle of a task: its result never comes
    time.sleep(ARGS.task_sleep)     # a slow f
    return x * x


def tagged(x):
    return x, square(x)             # imap_unordered gives results only: say which task each is


def main():
    global ARGS
    ap = argparse.ArgumentParser(description='Pool.map over square(0) .. square(N-1)')
    ap.add_argument('--workers', type=int, default=5)
    ap.add_argument('--tasks', type=int, default=20)
    ap.add_argument('--task-sleep', type=float, default=0.1)
    ap.add_argument('--chunksize', type=int, default=1)
    ap.add_argument('--unordered', action='store_true')
    ap.add_argument('--crash-on', type=int, default=-1)
    ap.add_argument('--executor', action='store_true', help='concurrent.futures instead of Pool')
    ARGS = ap.parse_args()
    kind = 'imap_unordered' if ARGS.unordered else 'map'
    print(f'Pool of {ARGS.workers} workers, {ARGS.tasks} tasks, chunksize {ARGS.chunksize}, {kind}')
    items = range(ARGS.tasks)
    if ARGS.executor:
        with ProcessPoolExecutor(ARGS.workers) as pool:
            try:
                for x, y in zip(items, pool.map(square, items, chunksize=ARGS.chunksize)):
                    print(f'square({x}) = {y}')
            except BrokenProcessPool as e:
                raise SystemExit(f'broken pool: {e}')
        return
    with Pool(ARGS.workers) as pool:  # fork: the workers inherit ARGS
        if ARGS.unordered:
            for x, y in pool.imap_unordered(tagged, items, chunksize=ARGS.chunksize):
                print(f'square({x}) = {y}')
        else:
            for x, y in zip(items, pool.map(square, items, chunksize=ARGS.chunksize)):
                print(f'square({x}) = {y}')
        pool.close()                  # one sentinel per worker on the task queue
        pool.join()
    print(f'Pool closed: {ARGS.workers} workers joined')


if __name__ == '__main__':
    main()
