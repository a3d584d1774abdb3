#!/usr/bin/env python3
"""seed_example.py - the seed's example 4, kept here to compare with queue_sum.

The code is the seed's, line for line, with two changes: the number of
workers and the count come from flags (the defaults are the seed's 5 and
100,000,000), and the printed lines are those of queue_sum, so the two can
be compared side by side. The worker's loop is the same pure-Python loop.

    python3 seed_example.py                       # the seed: 5 x 100,000,000
    python3 seed_example.py --workers 2 --count 1000000
"""
import argparse
import os
import time
from multiprocessing import Process, Queue, current_process


def worker(id, baseNum, q):
    process_id = os.getpid()
    process_name = current_process().name
    sub_total = 0
    for i in range(baseNum):
        sub_total += 1
    q.put(sub_total)
    print(f'Process ID: {process_id}, Process name: {process_name}, ID: {id}')
    print(f'Result: {sub_total}')


def main():
    parser = argparse.ArgumentParser(description="The seed's example 4: workers count, "
                                     "a Queue carries the sub-totals.")
    parser.add_argument('--workers', type=int, default=5, help='worker processes (default 5)')
    parser.add_argument('--count', type=int, default=100000000,
                        help='how far each worker counts (default 100000000)')
    args = parser.parse_args()
    if args.workers < 1 or args.count < 0:
        parser.error('--workers must be at least 1 and --count at least 0')

    print(f'Parent process id: {os.getpid()}')
    processes = list()
    start_time = time.time()
    q = Queue()
    for i in range(args.workers):
        t = Process(name=str(i), target=worker, args=(i, args.count, q))
        processes.append(t)
        t.start()
    for process in processes:
        process.join()
    print("--- %s seconds ---" % (time.time() - start_time))
    q.put('exit')
    total = 0
    while True:
        tmp = q.get()
        if tmp == 'exit':
            break
        else:
            total += tmp
    print('Main-Processing Total Count={}'.format(total))
    print('Main-Processing Done.')


if __name__ == "__main__":
    main()
