"""A named shared-memory block, found by a second, unrelated process (Python 3.8+).

    python3 example.py                 create, start the attacher, read its answer
    python3 example.py attach NAME     the attacher: find the block by name, answer
The C twin, shm_named.c, tells the same story with shm_open, mmap and sem_open.
"""
import os
import subprocess
import sys
from multiprocessing import resource_tracker, shared_memory

GREETING, ANSWER = slice(0, 96), slice(96, 192)  # two fields in the block


def put(buf, field, text):
    data = text.encode()
    buf[field.start:field.start + len(data)] = data


def get(buf, field):
    return bytes(buf[field]).split(b"\0", 1)[0].decode()


def attach(name):
    shm = shared_memory.SharedMemory(name=name)  # shm_open(name), fstat, mmap
    # Before 3.13 attaching also registers the block with this process's own
    # resource tracker, which would unlink it when this process ends: the
    # block is not ours, so tell the tracker to forget it (3.13: track=False).
    resource_tracker.unregister(shm._name, "shared_memory")
    print(f'Attacher pid {os.getpid()}: found {shm.name} by name, {shm.size} bytes, '
          f'and in it "{get(shm.buf, GREETING)}"', flush=True)
    put(shm.buf, ANSWER, f"hello back from pid {os.getpid()}")
    shm.close()  # close, never unlink: the block is not ours
    print("Attacher: answered; closed it, never unlinked: not ours", flush=True)


def create():
    shm = shared_memory.SharedMemory(create=True, size=4096)  # O_CREAT|O_EXCL, 0600, ftruncate, mmap
    try:
        print(f'Creator pid {os.getpid()}: SharedMemory(name="{shm.name}", create=True, size=4096)', flush=True)
        put(shm.buf, GREETING, f"hello from pid {os.getpid()}")
        # An unrelated process: a new interpreter that knows only the name.
        subprocess.run([sys.executable, __file__, "attach", shm.name], check=True)
        print(f'Creator: read the answer: "{get(shm.buf, ANSWER)}"')
    finally:
        shm.close()   # munmap: this process lets go
        shm.unlink()  # shm_unlink: the name leaves /dev/shm
    print("Creator: closed and unlinked: ls /dev/shm no longer shows it")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "attach":
        attach(sys.argv[2])
    else:
        create()
