"""A run's work in forked processes, for every step that shares it out: reading runs one task per
file in worker processes (`run_each`), so a file that crashes its reader, aborts it or blows up
its memory costs only that file; validation and the receipts hand part of a large run to a
second process (`beside`); and the run's long-lived objects are kept out of the garbage
collections (`frozen_heap`), which also spares the workers' copies of the parent's pages.

Workers are forked (they inherit the run's bytes: only an index goes down the pipe and the parsed
result comes back), with `os.fork` itself: `multiprocessing.Process` refuses to start children from
a daemonic process, and a task run by a Celery prefork pool lives in one. Each worker limits its own
address space (`RLIMIT_AS`: what it had when forked plus a budget) and its CPU time per task
(`RLIMIT_CPU`, raised before each task), and writes no core dumps. A task that dies (abort,
segfault, CPU limit), exceeds its wall-clock limit or runs out of memory comes back as a `Failure`
for its file; the worker is replaced and the other files go on. Large runs keep their parallelism:
tasks are spread over `workers` processes. What a task logs comes back with its result and is
logged by the parent (`_Forwarded`): a worker's own stderr goes nowhere.

A worker dies with the process that forked it (`PR_SET_PDEATHSIG`) and closes the sockets it
inherited (the parent's database session among them) before it does anything, so a run killed
outright leaves neither a worker nor a session holding its files' locks.
"""

from __future__ import annotations

import ctypes
import faulthandler
import gc
import logging
import math
import multiprocessing
import os
import resource
import select
import signal
import socket
import stat
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """A task that did not come back: `memory`, `time` or `crash` (with what was seen)."""

    kind: str
    detail: str


def _vm_size() -> int | None:
    """This process's address space in bytes (Linux), the base the memory budget adds to."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _limit_memory(budget: int) -> None:
    base = _vm_size()
    if base is None or not budget:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = base + budget
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _limit_cpu(seconds: float) -> None:
    """Allow `seconds` more CPU time from now (the soft limit; SIGXCPU ends the worker)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used + seconds)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


SEND_BUFFER = 4 << 20  # bytes of results a worker may have sent ahead of the parent's reading


def _widen_send_buffer(conn: Connection) -> None:
    """Let the worker send results ahead while the parent is busy elsewhere (`run_each`'s `idle`):
    a parsed file is a few KB, and the default socket buffer (~200 KB) would stop the worker
    after a few dozen; and the parent send a worker its share of a chunk's tasks at once (each
    small message takes ~1 KB of the buffer: ~200 would fit). The kernel caps the size
    (`net.core.wmem_max`); best effort."""
    try:
        with socket.fromfd(conn.fileno(), socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    except OSError:
        pass


class _Forwarded(logging.Handler):
    """A worker's log records, kept to go back to the parent with the task's result (its own
    stderr goes nowhere, and the sockets of the parent's log handlers are closed): as plain
    dicts (`logging.makeLogRecord` makes them records again), the message formatted and a
    traceback as text, so that whatever the record held pickles."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {key: value for key, value in vars(record).items()
                      if value is None or isinstance(value, (str, int, float))}
            fields["msg"], fields["args"] = record.getMessage(), None
            if record.exc_info:
                fields["exc_text"] = record.exc_text or _TRACEBACKS.formatException(
                    record.exc_info)
            self.records.append(fields)
        except Exception:  # noqa: BLE001 - a record that cannot be kept is not worth a task
            self.handleError(record)


_TRACEBACKS = logging.Formatter()


def _replay(records: list[dict]) -> None:
    """Log here what a worker logged (`_Forwarded`), through this process's handlers."""
    for fields in records:
        record = logging.makeLogRecord(fields)
        logging.getLogger(record.name).handle(record)


def _worker(conn: Connection, task: Callable[[int], object], memory: int, cpu: float,
            nice: int) -> None:
    try:
        if nice:
            os.nice(nice)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        # a reader that aborts (e.g. a failed allocation in calamine) would print to the
        # operator's console; its file's result says what happened instead
        faulthandler.disable()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        # what the task logs goes back with its result, to be logged by the parent
        forwarded = _Forwarded()
        logging.root.handlers = [forwarded]
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _widen_send_buffer(conn)
        _limit_memory(memory)
        while True:
            index = conn.recv()
            if index is None:
                break
            _limit_cpu(cpu)
            logged = forwarded.records
            try:
                conn.send(("ok", task(index), logged))
            except MemoryError:
                conn.send(("memory", "MemoryError", logged))
                break  # a fresh worker for the next file
            except RecursionError as exc:
                conn.send(("error", f"RecursionError: {exc}", logged))
            except Exception as exc:  # noqa: BLE001 - reported for its file, never lost
                conn.send(("error", f"{type(exc).__name__}: {exc}", logged))
            logged.clear()
    except (EOFError, OSError, KeyboardInterrupt):
        pass
    finally:
        os._exit(0)  # no atexit handlers, no finalisers of objects inherited from the parent


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this worker when the process that forked it ends (SIGKILL, OOM
    killer, anything), so a killed run leaves no worker behind. Linux only; elsewhere the
    worker still ends when its pipe to the parent closes."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


def _close_inherited_sockets(keep: set[int]) -> None:
    """Close every socket the worker inherited except its own pipe end: the parent's database
    session (and its locks), a broker's connection, the other workers' pipes. Only the
    descriptors are closed, without a word on the wire, so the parent's sessions go on."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd <= 2 or fd in keep:
            continue
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)
        except OSError:
            pass


class _Forked:
    """A worker process started with `os.fork`, with the part of `multiprocessing.Process` that
    `run_each` uses: `sentinel` (readable once the process has ended), `is_alive`, `kill`,
    `join` and `exitcode` (negative: the signal that ended it). The worker dies with its parent
    and keeps none of its parent's sockets (it never uses the database)."""

    def __init__(self, target: Callable[..., None], args: tuple, keep: int) -> None:
        parent = os.getpid()
        read_end, write_end = os.pipe()  # the child holds write_end until it ends
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                _die_with_parent(parent)
                os.close(read_end)
                _close_inherited_sockets({keep, write_end})
                target(*args)
            finally:
                os._exit(0)
        os.close(write_end)
        self.pid, self.sentinel, self.exitcode = pid, read_end, None

    def _reap(self, block: bool) -> None:
        if self.exitcode is not None:
            return
        try:
            pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere (a SIGCHLD handler): its status is lost
            self.exitcode = 0
            return
        if pid:
            self.exitcode = os.waitstatus_to_exitcode(status)

    def is_alive(self) -> bool:
        self._reap(block=False)
        return self.exitcode is None

    def kill(self) -> None:
        if self.is_alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def join(self, timeout: float | None = None) -> None:
        if self.exitcode is None and wait([self.sentinel], timeout):
            self._reap(block=True)

    def close(self) -> None:
        if self.sentinel is not None:
            os.close(self.sentinel)
            self.sentinel = None


_frozen_depth = 0  # freezes of the heap in force in this process (`_freeze`, `frozen_heap`)


def _freeze() -> None:
    global _frozen_depth
    if _frozen_depth:
        # within a freeze (a run's): the garbage made since is collected first, not frozen
        # until the run ends (a long run's chunks would pile up); only the objects made since
        # the last freeze are traversed
        gc.collect()
    gc.freeze()
    _frozen_depth += 1


def _thaw() -> None:
    """Undo a `_freeze`; the objects go back to the collector when the outermost one ends."""
    global _frozen_depth
    _frozen_depth -= 1
    if not _frozen_depth:
        gc.unfreeze()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """The objects alive now kept out of Python's cyclic garbage collections (`gc.freeze`)
    until the outermost freeze ends (then given back to the collector: nothing is leaked).
    `run_each` freezes before it forks, so the workers' collections leave the parent's pages
    alone (no copies); `pipeline.process_files` for a whole run, so a full collection no
    longer traverses every object of the imported libraries (pandas, Great Expectations:
    ~0.1 s each, a few per run)."""
    _freeze()
    try:
        yield
    finally:
        _thaw()


def freeze_new() -> None:
    """While a freeze is in force, the objects made since (a library imported meanwhile) join
    it, and go back to the collector with the rest."""
    if _frozen_depth:
        gc.freeze()


AHEAD = 2  # tasks queued per worker: it starts the next file while the parent takes a result
# tasks queued per worker before `idle` runs: a whole chunk's share (`pipeline.CHUNK_FILES`
# over two workers), so the workers parse all of it while the parent is away (a cold `lhpn run`
# imports Great Expectations meanwhile: ~1 s of CPU); with 256, the 1,243 files of the bench
# corpus were parsed 512 during the import and the rest after it. Each worker's results wait in
# its socket's send buffer (`SEND_BUFFER`, a parsed file ~7 KB) until the parent reads them.
IDLE_AHEAD = 1000


@dataclass
class _Slot:
    process: _Forked
    conn: Connection
    queue: deque = field(default_factory=deque)  # indices sent, in order; [0] is running
    started: float = 0.0  # when queue[0] started (as far as the parent can tell)


def run_each(count: int, task: Callable[[int], object], *, workers: int, memory: int,
             cpu_seconds: float, wall_seconds: float,
             idle: Callable[[], None] | None = None, nice: int = 0) -> list[object]:
    """`[task(0), ..., task(count - 1)]`, each computed in a worker process; an item whose task
    failed is a `Failure` (`memory`, `time`, `crash`, or `error` for an exception it raised).

    `idle`, if given, is run once in this process right after the workers are forked and given
    their first tasks (up to `IDLE_AHEAD` each), before any result is collected: work of the
    caller (an import, say) done while the workers parse instead of after them. It runs in this
    thread, so no worker can inherit a lock it holds, and with the garbage collector off, as
    the results are collected; what it raises ends the run like a failure of this process
    would. `nice`: how much lower the workers' scheduling priority is than this process's (what
    `os.nice` adds); the CPU time they may use is the same."""
    if count == 0:
        return []
    results: list[object] = [None] * count
    pending = deque(range(count))

    def start() -> _Slot:
        parent, child = multiprocessing.Pipe()
        _widen_send_buffer(parent)  # a chunk's share of tasks sent at once (`IDLE_AHEAD`)
        process = _Forked(_worker, (child, task, memory, cpu_seconds, nice),
                          keep=child.fileno())
        child.close()
        return _Slot(process, parent)

    def replace(i: int, failure: Failure | None) -> None:
        """End worker i; its running task gets `failure`, the tasks queued behind it go back."""
        slot = slots[i]
        if failure is not None and slot.queue:
            results[slot.queue.popleft()] = failure
        pending.extendleft(reversed(slot.queue))
        stop(slot)
        slots[i] = start() if pending else _Slot(slot.process, slot.conn)

    def stop(slot: _Slot) -> None:
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join()
        slot.process.close()
        slot.conn.close()

    def feed(slot: _Slot, ahead: int) -> None:
        """Send the worker tasks until it has `ahead` queued (or nothing is pending)."""
        while pending and len(slot.queue) < ahead and not slot.conn.closed:
            if not slot.queue:
                slot.started = time.monotonic()
            index = pending.popleft()
            slot.queue.append(index)
            try:
                slot.conn.send(index)
            except OSError:
                break  # the worker is gone: seen below as a crash

    _freeze()  # the parent's objects stay out of the workers' collections (no page copies)
    slots = [start() for _ in range(max(1, min(workers, count)))]
    collecting = gc.isenabled()
    try:
        # what `idle` makes (an import's modules) and the results that come back (unpickled:
        # lists, floats, strings) are new objects to keep, not garbage: no collection while
        # they pile up (each would traverse those already taken; ~0.2 s of CPU for 1,243
        # files), the collector runs again once they are all in
        gc.disable()
        if idle is not None:
            share = min(IDLE_AHEAD, -(-len(pending) // len(slots)))
            for slot in slots:
                feed(slot, share)
            idle()
        while True:
            for i, slot in enumerate(slots):
                if pending and not slot.queue and slot.conn.closed:
                    slot = slots[i] = start()  # a worker ended while nothing was pending
                feed(slot, AHEAD)
            busy = [s for s in slots if s.queue]
            if not busy:
                break
            timeout = max(0.0, min(s.started + wall_seconds for s in busy) - time.monotonic())
            ready = _wait([s.conn for s in busy] + [s.process.sentinel for s in busy],
                          timeout)
            for i, slot in enumerate(slots):
                if not slot.queue:
                    continue
                if slot.conn in ready or slot.process.sentinel in ready:
                    try:
                        # readable: a result, or the end of a worker that died (EOFError)
                        if slot.conn not in ready and not slot.conn.poll():
                            raise EOFError
                        status, value, records = slot.conn.recv()
                        _replay(records)
                    except (EOFError, OSError):
                        slot.process.join(5)
                        replace(i, _died(slot.process.exitcode))
                        continue
                    except MemoryError:  # the result itself did not fit in the parent
                        status, value = "memory", "result too large"
                    index = slot.queue.popleft()
                    slot.started = time.monotonic()
                    results[index] = value if status == "ok" else Failure(
                        status if status == "memory" else "error", str(value))
                    if status == "memory":  # that worker ends itself: replace it now
                        replace(i, None)
                elif time.monotonic() - slot.started >= wall_seconds:
                    replace(i, Failure("time", f"over {wall_seconds:.0f} s"))
        # within a run's freeze (`frozen_heap`) the results (and what `idle` imported) join it:
        # the collections of the stages after reading (validation, load, receipts) need not
        # traverse them again and again; the results are data without cycles, freed as usual
        # once the run lets go of them
        freeze_new()
    finally:
        if collecting:
            gc.enable()
        for slot in slots:
            try:
                slot.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        for slot in slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            stop(slot)
        _thaw()
    return results


ASIDE_SECONDS = 600.0  # CPU and wall time `beside`'s forked process may take
BESIDE_MIN_ITEMS = 64  # the least a run's step shares out: a fork and its results cost ~20 ms


def worth_beside(items: int) -> bool:
    """Whether a step of `items` files is worth sharing with a second process (`beside`): a
    large run, on a machine (LHPN_WORKERS) with more than one core."""
    from ingest import settings

    return items >= BESIDE_MIN_ITEMS and settings.workers() > 1


def beside(here: Callable[[], object], aside: Callable[[], object], what: str
           ) -> tuple[object, object]:
    """`(here(), aside())`, with `aside` run in a forked process (`run_each`: it inherits what
    this process holds) while `here` runs in this one: a run's work in two parts on two cores.
    Should that process fail (killed, out of time), `aside` runs here afterwards; `what` names
    it in the warning that says so."""
    done: list = []
    [result] = run_each(1, lambda _: aside(), workers=1, memory=0, cpu_seconds=ASIDE_SECONDS,
                        wall_seconds=ASIDE_SECONDS, idle=lambda: done.append(here()))
    if isinstance(result, Failure):
        log.warning("%s failed in their second process (%s: %s); run here", what, result.kind,
                    result.detail)
        result = aside()
    return done[0], result


def _wait(objects: list, timeout: float) -> list:
    """`multiprocessing.connection.wait` for a few pipes and sentinels: the objects (a
    `Connection` or a descriptor) readable, or whose other end closed, within `timeout`
    seconds. One poll, without the selector `wait` builds and registers anew on every call
    (it is called once per result)."""
    poller = select.poll()
    by_fd = {}
    for obj in objects:
        fd = obj if isinstance(obj, int) else obj.fileno()
        by_fd[fd] = obj
        poller.register(fd, select.POLLIN)
    # milliseconds, rounded up as the selectors do (no busy loop on a sub-millisecond rest)
    return [by_fd[fd] for fd, _ in poller.poll(math.ceil(timeout * 1e3))]


def _died(exitcode: int | None) -> Failure:
    if exitcode is not None and exitcode < 0:
        sig = -exitcode
        if sig == signal.SIGXCPU:
            return Failure("time", "CPU time limit")
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        return Failure("crash", f"killed by signal {name}")
    return Failure("crash", f"exit code {exitcode}")
