# Lectern's supervisor: runs inside the sandbox, and nothing it says is trusted.
#
# The zygote (`main`) starts with the sandbox, imports numpy once, and waits on stdin for
# hand-ins (the frames of protocol.rs: a JSON plan, every input array's bytes unless the
# plan is the one it holds already, the student's file). For each hand-in it empties the
# sandbox's writable places (all tmpfs) and forks a fresh process (`_handin`) that
# imports the student's file and forks one child per unit (a case or a behaviour
# check): copy-on-write gives every hand-in and every unit the same fresh state, so no
# hand-in can see another's and no unit can poison the next. Each unit's child writes its
# outputs as frames into a file of its own; the hand-in's process waits for it (a pidfd,
# so an exit is seen at once), watches its CPU time, wall time and (without a memory
# cgroup) memory, kills whatever it left running, and appends its frames, wrapped, to
# the hand-in's report file. When the hand-in's process ends, the zygote kills what is
# left and sends the report file on, wrapped again, with how the process ended. Only the
# zygote writes to stdout: it is not dumpable (no other process of the sandbox can reach
# its descriptors through /proc), and every process forked from it closes that pipe
# before any student code runs.
#
# Time: each unit (and the import) gets `budget.cpu_seconds` of CPU time, counted for
# every process it starts, and `budget.wall_seconds` of wall-clock time. The first unit
# that runs out is stopped, and the units after it are not run (and are reported so):
# code that never ends costs the limit once per hand-in, not once per case.
#
# Dtypes: each call names its case's dtype ("f64", "f32", "f16" or "bf16"), also set as
# the environment variable LECTERN_DTYPE during the call. Arrays arrive as numpy arrays:
# f16 as float16; bf16 as float32 holding exactly the bf16-rounded values (numpy has no
# bfloat16), so a PyTorch solution may convert them with `.to(torch.bfloat16)`
# losslessly. A returned PyTorch tensor (on any device) becomes a numpy array; bfloat16
# becomes float32.
import json
import math
import os
import resource
import select
import signal
import struct
import sys
import time
import traceback

MAX_HEADER = 1 << 20
MAX_OUTPUTS = 16
TOO_LARGE = 97  # a child's exit code: its outputs did not fit the scratch folder
NO_PROCESS = 96  # reported as a process's exit code when it could not be forked
RETIRED = 95  # the zygote's exit code when the sandbox could not be emptied


HERE = os.path.join(os.getcwd(), ".lectern")  # /work/.lectern in the sandbox


def _read_exact(n):
    chunks = []
    while n:
        b = os.read(0, min(n, 1 << 20))
        if not b:
            raise EOFError("the plan ended early")
        chunks.append(b)
        n -= len(b)
    return b"".join(chunks)


def _read_frame():
    (n,) = struct.unpack("<I", _read_exact(4))
    if n > MAX_HEADER:
        raise ValueError("a frame over the limit")
    return json.loads(_read_exact(n))


def _write_all(fd, data):
    view = memoryview(data)
    while len(view):
        view = view[os.write(fd, view):]


def _frame(fd, message):
    data = json.dumps(message, ensure_ascii=True).encode()
    _write_all(fd, struct.pack("<I", len(data)) + data)


def _to_numpy(value, np):
    """A returned value as a numpy array; PyTorch tensors without importing torch."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
        if str(getattr(value, "dtype", "")) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    return np.asarray(value)


def _exit_of(status):
    """A wait status as the protocol's `ChildExit`."""
    if os.WIFSIGNALED(status):
        return {"how": "signal", "signal": os.WTERMSIG(status)}
    return {"how": "code", "code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1}


def _relay(proto, fd, message):
    """Sends `message` with `bytes` set to the size of the file `fd`, then the file's
    bytes (read through the descriptor, never by path). A file that shrank meanwhile is
    padded, so that the frames stay in step."""
    size = os.fstat(fd).st_size
    _frame(proto, dict(message, bytes=size))
    sent = 0
    while sent < size:
        n = os.sendfile(proto, fd, sent, size - sent)
        if not n:
            _write_all(proto, bytes(size - sent))
            break
        sent += n


def _flush():
    """What the student's code printed, out of Python's buffers (os._exit skips that)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _capped(path, limit):
    try:
        with open(path, "rb") as f:
            data = f.read(limit)
    except OSError:
        return ""
    return data.decode("utf-8", "replace")


# In a sandbox (`sandboxed` on the command line) every other process of its PID
# namespace belongs to the hand-in. Without one (`--no-sandbox`), only this process's
# descendants do: nothing else on the machine is ever signalled, and no folder but the
# working one is emptied.
SANDBOXED = sys.argv[-1:] == ["sandboxed"]


def _others():
    """Every live process below this one: not this one, its parent (the zygote, for a
    hand-in) or the sandbox's init; without a sandbox, this process's descendants only.
    Zombies are dead already (init reaps them)."""
    me = os.getpid()
    keep = (1, me, os.getppid())
    pids, parents = [], {}
    for n in os.listdir("/proc"):
        if not n.isdigit() or int(n) in keep:
            continue
        f = _stat_fields(int(n))
        if f and (f[0] != b"Z" or _has_live_threads(int(n))):
            pids.append(int(n))
            parents[int(n)] = int(f[1])
    if SANDBOXED:
        return pids
    mine, grew = {me}, True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                grew = True
    return sorted(mine - {me})


def _has_live_threads(pid):
    """A zombie leader whose other threads still run (its main thread alone exited):
    alive, whatever its state says."""
    try:
        return len(os.listdir("/proc/%d/task" % pid)) > 1
    except OSError:
        return False


def _stat_fields(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
        return data[data.rindex(b")") + 2:].split()
    except (OSError, ValueError):
        return None


TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _tree_cpu():
    """CPU seconds of every other process (and of the children each has waited for)."""
    total = 0
    for pid in _others():
        f = _stat_fields(pid)
        if f:  # utime, stime, cutime, cstime are fields 14-17 (11-14 after the name)
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total / TICK


def _reaped_cpu():
    """CPU seconds of the children the sandbox's init has reaped so far (orphans a unit
    left, once they end): read from init's own record, since they leave no other."""
    if not SANDBOXED:
        return 0.0
    f = _stat_fields(1)
    return (int(f[13]) + int(f[14])) / TICK if f else 0.0


def _tree_rss():
    total = 0
    for pid in _others() + [os.getpid()]:
        try:
            with open("/proc/%d/statm" % pid) as f:
                total += int(f.read().split()[1]) * PAGE
        except (OSError, ValueError, IndexError):
            pass
    return total


def _kill_others():
    """Kills everything the unit or hand-in left (daemons, forks, a thread whose leader
    has exited); init reaps them. In a sandbox `kill(-1)` reaches every process of the
    namespace but the caller and init; without one, only this process's descendants."""
    for _ in range(200):
        if SANDBOXED:
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        pids = _others()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if os.getpid() == 1:
            _reap(None)
        time.sleep(0.0005)


def _child(unit, inputs, function, np, res):
    """Runs in the forked child: the unit's calls, outputs as frames into `res`."""
    def end(**ending):
        _flush()
        _frame(res, {"type": "end", "ending": ending})
        os._exit(0)

    returned = []
    for k, call in enumerate(unit["calls"]):
        kwargs = dict(inputs[k])
        for name, (j, i) in call["from"].items():
            if j >= len(returned) or i >= len(returned[j]):
                end(how="bad-output", message="call %d returned fewer than %d values" % (j, i + 1))
            kwargs[name] = returned[j][i]
        kwargs.update(call["args"])
        os.environ["LECTERN_DTYPE"] = call["dtype"]
        try:
            result = function(**kwargs)
        except MemoryError:
            end(how="memory")
        except RecursionError as e:
            end(how="exception", kind="RecursionError", message=str(e), traceback=traceback.format_exc(limit=8))
        except BaseException as e:
            end(how="exception", kind=type(e).__name__, message=str(e), traceback=traceback.format_exc(limit=20))
        results = list(result) if isinstance(result, tuple) else [result]
        if len(results) > MAX_OUTPUTS:
            end(how="bad-output", message="returned %d values, more than %d" % (len(results), MAX_OUTPUTS))
        arrays = []
        for i, value in enumerate(results):
            try:
                array = _to_numpy(value, np)
                if array.dtype == object:
                    raise TypeError("returned %s, not an array of numbers" % type(value).__name__)
                # A transposed view is a right answer too: sent in C order (and a 0-d
                # array stays 0-d, which ascontiguousarray would not keep).
                if not array.flags.c_contiguous:
                    array = array.copy(order="C")
                header = {"dtype": array.dtype.str, "shape": [int(d) for d in array.shape], "bytes": int(array.nbytes)}
            except BaseException as e:
                end(how="bad-output", message=str(e))
            try:
                _frame(res, {"type": "output", "call": k, "index": i, "array": header})
                _write_all(res, memoryview(array.reshape(-1).view(np.uint8)))
            except OSError:
                os._exit(TOO_LARGE)
            arrays.append(array)
        returned.append(arrays)
    end(how="returned")


def _run_unit(u, unit, inputs, function, np, plan, state, proto):
    """Forks the unit's child, watches it, and reports it. Returns the stop, if any."""
    budget = plan["budget"]
    cpu_left = budget["cpu_seconds"]
    wall_left = budget["wall_seconds"]
    res_path = HERE + "/result-%d" % u
    try:
        res = _create(res_path)
    except OSError:
        # Its own file taken by its own code: this hand-in's problem alone.
        _frame(proto, {"type": "done", "unit": u, "exit": {"how": "code", "code": 98}, "stopped": None, "cpu_seconds": 0.0, "wall_seconds": 0.0, "printed": "Lectern's result file was taken"})
        return None
    printed_r, printed_w = os.pipe()
    started = time.monotonic()
    try:
        pid = os.fork()
    except OSError:
        # The machine's (or this sandbox's) process limit: said so, never a verdict on
        # the code alone.
        os.close(res)
        os.close(printed_r)
        os.close(printed_w)
        _frame(proto, {"type": "done", "unit": u, "exit": {"how": "code", "code": NO_PROCESS}, "stopped": None, "cpu_seconds": 0.0, "wall_seconds": 0.0, "printed": ""})
        return None
    if pid == 0:
        try:
            os.close(proto)
            os.close(printed_r)
            os.dup2(printed_w, 1)
            os.dup2(printed_w, 2)
            os.close(printed_w)
            _, hard = resource.getrlimit(resource.RLIMIT_CPU)
            soft = max(1, math.ceil(cpu_left))
            if hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
            _child(unit, inputs, function, np, res)
        except BaseException:
            traceback.print_exc()  # into the unit's printed output
        _flush()
        os._exit(98)
    # The result is read through this descriptor, never by its path again (the unit's
    # code may have put something else there).
    os.close(printed_w)
    os.set_blocking(printed_r, False)
    printed = bytearray()
    cap = plan["output_bytes"]

    def drain():
        # What the unit prints is kept up to the cap; the rest is read and dropped.
        while True:
            try:
                chunk = os.read(printed_r, 1 << 16)
            except BlockingIOError:
                return True
            if not chunk:
                return False
            if len(printed) < cap:
                printed.extend(chunk[: cap - len(printed)])

    pidfd = os.pidfd_open(pid)
    stopped = None
    tree_cpu = 0.0
    reaped_before = _reaped_cpu()
    wait = 0.001
    while True:
        ready, _, _ = select.select([pidfd, printed_r], [], [], wait)
        if printed_r in ready:
            drain()
        if pidfd in ready:
            break
        if ready:
            continue
        wait = min(wait * 2, 0.02)
        tree_cpu = _tree_cpu() + _reaped_cpu() - reaped_before
        if tree_cpu >= cpu_left:
            stopped = "cpu"
        elif time.monotonic() - started >= wall_left:
            stopped = "wall"
        elif plan["watch_memory"] and _tree_rss() > plan["memory_bytes"]:
            stopped = "memory"
        if stopped:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            break
    _, status, usage = os.wait4(pid, 0)
    os.close(pidfd)
    wall = time.monotonic() - started
    # What the unit left behind (daemons, forks) is counted, then killed.
    left_cpu = _tree_cpu()
    _kill_others()
    drain()
    os.close(printed_r)
    cpu = max(tree_cpu, usage.ru_utime + usage.ru_stime + left_cpu + _reaped_cpu() - reaped_before)
    state["cpu"] += cpu
    state["wall"] += wall
    if stopped is None and (cpu >= cpu_left or (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU)):
        stopped = "cpu"  # by the kernel's RLIMIT_CPU (SIGXCPU), a tick before the polling
    exit = _exit_of(status)
    _relay(proto, res, {"type": "unit", "unit": u})
    os.close(res)
    try:
        os.unlink(res_path)
    except OSError:
        pass
    printed = bytes(printed).decode("utf-8", "replace")
    _frame(proto, {"type": "done", "unit": u, "exit": exit, "stopped": stopped, "cpu_seconds": cpu, "wall_seconds": wall, "printed": printed})
    return stopped


def _handin(plan, inputs, source, np, out):
    """One hand-in, in a process forked from the zygote: imports the student's file and
    runs every unit, writing reports into `out`. Returns the exit code."""
    printed_path = HERE + "/import"
    printed = _create(printed_path)
    os.dup2(printed, 1)
    os.dup2(printed, 2)
    os.close(printed)
    # The import and this process's own work get the exercise's CPU time, no more (the
    # units' processes count their own).
    cpu = max(1, math.ceil(plan["budget"]["cpu_seconds"]))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        cpu = min(cpu, max(hard - 1, 1))
    # SIGXCPU at the budget (a CPU timeout), SIGKILL a second later for code that
    # ignores it.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1 if hard == resource.RLIM_INFINITY else min(cpu + 1, hard)))
    entry = plan["entry"]
    with open(entry, "wb") as f:
        f.write(source)

    def failed(**failure):
        _flush()
        _frame(out, {"type": "load-failed", "failure": failure, "printed": _capped(printed_path, plan["output_bytes"])})
        return 0

    try:
        code = compile(source, entry, "exec")
    except SyntaxError as e:
        return failed(kind="syntax-error", line=e.lineno, message=str(e.msg))
    except (ValueError, UnicodeDecodeError) as e:
        return failed(kind="import-error", message=repr(e))
    module = {"__name__": "student", "__file__": entry}
    try:
        exec(code, module)
    except MemoryError:
        return failed(kind="memory")
    except BaseException as e:
        return failed(kind="import-error", message="%s: %s" % (type(e).__name__, e))
    function = module.get(plan["function"])
    if not callable(function):
        return failed(kind="missing-function", name=plan["function"])
    _kill_others()
    _flush()
    _frame(out, {"type": "loaded", "printed": _capped(printed_path, plan["output_bytes"])})
    import gc
    gc.freeze()

    state = {"cpu": 0.0, "wall": 0.0}
    spent = None
    for u, unit in enumerate(plan["units"]):
        if spent:
            _frame(out, {"type": "not-run", "unit": u, "spent": spent})
            continue
        stopped = _run_unit(u, unit, inputs[u], function, np, plan, state, out)
        if stopped in ("cpu", "wall"):
            spent = stopped
    _frame(out, {"type": "finished", "cpu_seconds": state["cpu"]})
    return 0


def _bound():
    """The Python environment's folders, bound in from the machine (read-only), and the
    folders above them that Bubblewrap made inside a writable place (when the cache
    lives under /tmp, say): kept by the wipe, everything else beside them goes."""
    bound = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
    above = set()
    for p in bound:
        p = os.path.dirname(p)
        while p not in ("/", ""):
            above.add(p)
            p = os.path.dirname(p)
    return bound, above


BOUND, ABOVE = _bound()


def _leftovers(folder):
    """What a hand-in may have left in `folder`: every entry but Lectern's bound folders
    and the way down to them."""
    left = []
    if folder in ABOVE:
        try:
            os.chmod(folder, 0o755)  # as an ordinary user these are the user's own
        except OSError:
            pass
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return [folder]  # unreadable: something may hide there
    for entry in entries:
        path = entry.path
        if path in BOUND:
            continue
        if path in ABOVE and entry.is_dir(follow_symlinks=False):
            left += _leftovers(path)
            continue
        left.append(entry)
    return left


def _wipe():
    """Empties the sandbox's writable places (tmpfs: no disk) of whatever a hand-in left,
    Lectern's own folder included, and makes that folder anew. False when something
    stays (the session is then retired, never handed to the next student)."""
    folders = (os.getcwd(), "/tmp", "/dev/shm") if SANDBOXED else (os.getcwd(),)
    left = []
    for folder in folders:
        for entry in _leftovers(folder):
            if isinstance(entry, str):
                continue  # a folder that cannot be read: the check below retires us
            try:
                if entry.is_dir(follow_symlinks=False):
                    left.append(entry.path)
                else:
                    os.unlink(entry.path)
            except OSError:
                left.append(entry.path)
    if left:
        # chmod first: a folder the code made unreadable would stop rm; rm walks any
        # depth (Python's rmtree recurses, and 25,000 nested folders exist).
        import subprocess
        quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            subprocess.run(["/bin/chmod", "-R", "u+rwX", "--"] + left, **quiet)
            subprocess.run(["/bin/rm", "-rf", "--one-file-system", "--"] + left, **quiet)
        except OSError:
            return False
    if any(_leftovers(folder) for folder in folders):
        return False
    try:
        os.mkdir(HERE, 0o700)
    except OSError:
        return False
    return True


def _create(path):
    """A new file of Lectern's own: never one that was there, never through a link."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)


def _not_dumpable():
    """No process of the sandbox may open this one's descriptors or memory through /proc
    (a hand-in runs as the same user): PR_SET_DUMPABLE 0."""
    import ctypes
    if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE)")


def main():
    """The zygote: numpy imported once; then, for every hand-in the grader sends, a fresh
    process forked from it runs the hand-in, and the sandbox is emptied after it. In the
    sandbox it is the namespace's init (`bwrap --as-pid-1`): no process of the sandbox
    can signal it, and it reaps what the hand-ins leave."""
    # Only stdin, stdout and stderr from whoever started Lectern: any other descriptor
    # it inherited (a jobserver's pipe, a terminal) is closed before student code runs.
    os.closerange(3, 1 << 16)
    proto = os.dup(1)
    os.dup2(2, 1)
    _not_dumpable()
    # As init, the zygote gets from inside the sandbox only the signals it handles:
    # it handles none but SIGCHLD (below). Hand-ins get the dispositions Python starts
    # with back.
    started_with = {}
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGCHLD):
            continue
        try:
            started_with[sig] = signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError, RuntimeError):
            pass
    import gc
    import numpy as np
    # What every forked process shares stays shared: the collector never touches (and so
    # never copies) the objects that exist before a fork.
    gc.freeze()
    if not _wipe():  # new tmpfs: this makes Lectern's folder
        folders = (os.getcwd(), "/tmp", "/dev/shm") if SANDBOXED else (os.getcwd(),)
        raise RuntimeError("the sandbox's writable places are not empty at its start: %r" % [(f, [e.path for e in _leftovers(f)]) for f in folders])
    # Woken at once when any child ends (orphans too: they count against the process
    # limit until reaped).
    woken, wake = os.pipe()
    os.set_blocking(woken, False)
    os.set_blocking(wake, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake)
    _frame(proto, {"type": "ready"})
    held = (None, None)  # (plan id, inputs) of the last plan
    while True:
        try:
            plan = _read_frame()
        except EOFError:
            return 0
        if plan["inputs_follow"]:
            inputs = []
            for unit in plan["units"]:
                per_call = []
                for call in unit["calls"]:
                    arrays = {}
                    for a in call["inputs"]:
                        data = bytearray(_read_exact(a["bytes"]))  # writable, as np.load gives
                        arrays[a["name"]] = np.frombuffer(data, dtype=np.dtype(a["dtype"])).reshape(a["shape"])
                    per_call.append(arrays)
                inputs.append(per_call)
            held = (plan["id"], inputs)
            gc.freeze()
        elif held[0] != plan["id"]:
            raise ValueError("a plan without inputs that this sandbox does not hold")
        inputs = held[1]
        source = _read_exact(_read_frame()["bytes"])
        nonce = plan["nonce"]
        out = _create(HERE + "/reports")
        started = time.monotonic()
        try:
            pid = os.fork()
        except OSError:
            os.close(out)
            _frame(proto, {"type": "hand-in", "bytes": 0, "nonce": nonce})
            _frame(proto, {"type": "ended", "exit": {"how": "code", "code": NO_PROCESS}, "stopped": None, "nonce": nonce, "clean": _wipe()})
            continue
        if pid == 0:
            code = 98
            try:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                for sig, disposition in started_with.items():
                    try:
                        signal.signal(sig, disposition if disposition is not None else signal.SIG_DFL)
                    except (OSError, ValueError, RuntimeError):
                        pass
                os.close(woken)
                os.close(wake)
                os.close(proto)
                os.close(0)
                os.open("/dev/null", os.O_RDONLY)
                code = _handin(plan, inputs, source, np, out)
            except BaseException:
                traceback.print_exc()
            _flush()
            os._exit(code)
        # The hand-in keeps to its limits itself; this is for one that took its process
        # over (a supervisor stopped): the limits of every unit and the import, and a margin.
        budget = plan["budget"]
        units = len(plan["units"]) + 1
        pidfd = os.pidfd_open(pid)
        stopped = None
        status = None
        reaped_before = os.times()
        while status is None:
            ready = select.select([pidfd, woken], [], [], 0.02)[0]
            if woken in ready:
                try:
                    os.read(woken, 4096)
                except BlockingIOError:
                    pass
            status = _reap(pid)
            if status is not None or ready:
                continue
            if time.monotonic() - started > units * budget["wall_seconds"] + 5:
                stopped = "wall"
            elif _tree_cpu() + _children_cpu(reaped_before) > units * budget["cpu_seconds"] + 5:
                stopped = "cpu"
            if stopped:
                os.kill(pid, signal.SIGKILL)
        os.close(pidfd)
        _kill_others()
        _reap(None)
        exit = _exit_of(status)
        _relay(proto, out, {"type": "hand-in", "nonce": nonce})
        os.close(out)
        clean = _wipe()
        _frame(proto, {"type": "ended", "exit": exit, "stopped": stopped, "nonce": nonce, "clean": clean})
        if not clean:
            return RETIRED


def _children_cpu(since):
    """CPU seconds of the children reaped since `since` (an `os.times()`)."""
    now = os.times()
    return (now.children_user - since.children_user) + (now.children_system - since.children_system)


def _reap(wanted):
    """Reaps every child that has ended (as init, the sandbox's orphans are ours too);
    returns `wanted`'s wait status once it has ended."""
    status = None
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return status
        if pid == 0:
            return status
        if pid == wanted:
            status = st


if __name__ == "__main__":
    os._exit(main() or 0)
