"""Running Python code inside a Linux network namespace made with `ip netns add`: a thread enters it with setns(2)
(network namespaces are per thread), so one process can reach several namespaces at once. Standard library only."""
import concurrent.futures
import ctypes
import os
import socket

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def enter(namespace):
    """Moves the calling thread into the named network namespace (/run/netns/NAME)."""
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into {namespace}: {os.strerror(errno)}")
    finally:
        os.close(fd)


def executor(namespace, workers):
    """A thread pool whose threads all live in `namespace`: sockets they open are that namespace's."""
    return concurrent.futures.ThreadPoolExecutor(max_workers=workers, initializer=enter, initargs=(namespace,),
                                                 thread_name_prefix=namespace)


def run_in(namespace, fn, *args):
    """Runs fn(*args) on a thread inside `namespace` and returns its result."""
    with executor(namespace, 1) as pool:
        return pool.submit(fn, *args).result()


def accepts(namespace, address, port, timeout=0.5):
    """Whether something inside `namespace` accepts TCP connections on address:port."""
    def probe():
        try:
            with socket.create_connection((address, port), timeout=timeout):
                return True
        except OSError:
            return False
    return run_in(namespace, probe)
