#!/usr/bin/env python3
"""example.py - lesson 08 in Python: a parent talks with each child over its own Pipe().

Pipe() is duplex: both ends send and receive (underneath, a socketpair).
The parent waits on all its ends at once with connection.wait (poll()),
and a child that closes its end shows as EOFError, as in duplex_pipe.c.

    python3 example.py                     # 3 children, 3 requests each
    python3 example.py --eof-child 2       # child 2 closes its end early
    python3 example.py --swap deadlock     # both send 1 MiB first: stuck (caught after 2 s)
    python3 example.py --swap fixed        # the parent receives first: works
"""
import argparse
import os
import threading
import time
from multiprocessing import Pipe, Process
from multiprocessing.connection import wait


def serve(k, end, children, delay, eof_child, others):
    for other in others:            # inherited by fork: held open here, they would hide EOF
        other.close()
    answered = 0
    while True:
        try:
            rid, n = end.recv()
        except EOFError:            # the parent closed its end
            break
        if answered == 1 and k + 1 == eof_child:
            break                   # close early: the parent gets EOFError
        time.sleep(delay * ((2 * k + rid) % children) / children)
        end.send((rid, n * n))
        answered += 1
    end.close()


def talk(args):
    print(f'Parent (pid {os.getpid()}) talks with {args.children} children, '
          f'one Pipe each, {args.requests} requests each')
    ends, procs, answered = {}, {}, {}
    for k in range(args.children):
        parent_end, child_end = Pipe()            # duplex=True
        p = Process(target=serve, args=(k, child_end, args.children, args.delay, args.eof_child, list(ends) + [parent_end]))
        p.start()
        child_end.close()                         # only the child holds it now
        ends[parent_end], procs[parent_end], answered[parent_end] = k, p, 0
        rid = k * args.requests + 1
        parent_end.send((rid, rid))
    total = 0
    while ends:
        for conn in wait(list(ends)):             # poll() on every end at once
            k = ends[conn]
            try:
                rid, value = conn.recv()
            except (EOFError, ConnectionResetError):
                print(f'Child-{k + 1} closed its end (EOF) after {answered[conn]} of {args.requests} answers')
                rid = None
            if rid is not None:
                print(f'Child-{k + 1} answered request {rid}: {rid} squared is {value}')
                total += 1
                answered[conn] += 1
                if answered[conn] < args.requests:
                    nxt = k * args.requests + answered[conn] + 1
                    conn.send((nxt, nxt))
                    continue
            conn.close()                          # the child's recv() raises EOFError
            procs[conn].join()
            del ends[conn]
    print(f'{total} answers, each matched to its request')


def swap_child(end, size):
    end.send_bytes(bytes(size))                   # blocks until the parent reads
    end.recv_bytes()


def send_quietly(end, data):
    try:
        end.send_bytes(data)
    except OSError:                               # the child was stopped meanwhile
        pass


def swap(args):
    parent_end, child_end = Pipe()
    p = Process(target=swap_child, args=(child_end, args.size))
    p.start()
    child_end.close()
    if args.swap == 'fixed':
        parent_end.recv_bytes()                   # the fix: one side receives first
    sender = threading.Thread(target=send_quietly, args=(parent_end, bytes(args.size)), daemon=True)
    sender.start()
    sender.join(args.patience)                    # send_bytes has no timeout: watch it from here
    if sender.is_alive():
        print(f'deadlock: for {args.patience:g} s nothing moved: both sides are in send_bytes; neither reads')
        p.terminate()
        p.join()
        raise SystemExit(3)
    if args.swap == 'deadlock':
        parent_end.recv_bytes()
    p.join()
    print(f'the parent sent and received {args.size} bytes')


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description="Python's Pipe(): a two-way channel per child")
    ap.add_argument('--children', type=int, default=3)
    ap.add_argument('--requests', type=int, default=3)
    ap.add_argument('--delay', type=float, default=0.2)
    ap.add_argument('--eof-child', type=int, default=0)
    ap.add_argument('--swap', choices=['none', 'deadlock', 'fixed'], default='none')
    ap.add_argument('--size', type=int, default=1 << 20)
    ap.add_argument('--patience', type=float, default=2)
    a = ap.parse_args()
    swap(a) if a.swap != 'none' else talk(a)
