# Lectern's harness shim: runs inside the sandbox, never trusted by the grader.
# It imports the student's file, calls the function with the case's inputs (by name,
# from in/NAME.npy) and keyword arguments (case.json), and writes each returned value
# to out/N.npy. What happened goes to status.json; the grader still checks every
# output itself, so nothing written here can pass a case on its own.
import json
import os
import sys
import traceback

def _status(**fields):
    with open("status.json", "w") as f:
        json.dump(fields, f)

def main():
    with open("case.json") as f:
        case = json.load(f)
    try:
        import numpy as np
    except Exception as e:  # the environment itself is broken
        _status(status="environment", message=repr(e))
        return 3
    entry = case["entry"]
    sys.path.insert(0, os.getcwd())
    try:
        source = open(entry, encoding="utf-8").read()
        code = compile(source, entry, "exec")
    except SyntaxError as e:
        _status(status="syntax_error", line=e.lineno, message=e.msg, text=(e.text or "").rstrip())
        return 3
    except (OSError, UnicodeDecodeError) as e:
        _status(status="import_error", message=repr(e))
        return 3
    module = {"__name__": "student", "__file__": entry}
    try:
        exec(code, module)
    except MemoryError:
        _status(status="memory")
        return 3
    except BaseException as e:
        _status(status="import_error", message="%s: %s" % (type(e).__name__, e), traceback=traceback.format_exc(limit=20))
        return 3
    function = module.get(case["function"])
    if not callable(function):
        _status(status="missing_function", name=case["function"])
        return 3
    kwargs = {}
    for name in case["inputs"]:
        kwargs[name] = np.load(os.path.join("in", name + ".npy"), allow_pickle=False)
    kwargs.update(case["args"])
    try:
        result = function(**kwargs)
    except MemoryError:
        _status(status="memory")
        return 3
    except RecursionError as e:
        _status(status="exception", kind="RecursionError", message=str(e), traceback=traceback.format_exc(limit=8))
        return 3
    except BaseException as e:
        _status(status="exception", kind=type(e).__name__, message=str(e), traceback=traceback.format_exc(limit=20))
        return 3
    results = list(result) if isinstance(result, tuple) else [result]
    os.makedirs("out", exist_ok=True)
    for i, value in enumerate(results):
        try:
            array = np.asarray(value)
            if array.dtype == object:
                raise TypeError("returned %s, not an array of numbers" % type(value).__name__)
            np.save(os.path.join("out", "%d.npy" % i), array, allow_pickle=False)
        except BaseException as e:
            _status(status="bad_output", index=i, message=str(e))
            return 3
    _status(status="ok", outputs=len(results))
    return 0

if __name__ == "__main__":
    sys.exit(main())
