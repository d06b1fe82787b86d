# Lectern's harness shim: runs inside the sandbox, never trusted by the grader.
# It imports the student's file and calls the function once per entry of case.json's
# "calls": inputs by name from in/K/NAME.npy (or, for a chained call, a value an earlier
# call returned: "from": {NAME: [CALL, OUTPUT]}), keyword arguments from "args". Each
# returned value goes to out/K/N.npy. What happened goes to status.json; the grader still
# checks every output itself, so nothing written here can pass a case on its own.
#
# Dtypes: each call names its case's dtype ("f64", "f32", "f16" or "bf16"), also set as the
# environment variable LECTERN_DTYPE during the call. Arrays arrive as numpy arrays: f16 as
# float16; bf16 as float32 holding exactly the bf16-rounded values (numpy has no
# bfloat16), so a PyTorch solution may convert them with `.to(torch.bfloat16)` losslessly.
# A returned PyTorch tensor (on any device) becomes a numpy array; bfloat16 becomes float32.
import json
import os
import sys
import traceback

def _status(**fields):
    with open("status.json", "w") as f:
        json.dump(fields, f)

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
    returned = []
    for k, call in enumerate(case["calls"]):
        kwargs = {}
        for name in call["inputs"]:
            kwargs[name] = np.load(os.path.join("in", str(k), name + ".npy"), allow_pickle=False)
        for name, (j, i) in call.get("from", {}).items():
            if j >= len(returned) or i >= len(returned[j]):
                _status(status="bad_output", call=k, message="call %d returned fewer than %d values" % (j, i + 1))
                return 3
            kwargs[name] = returned[j][i]
        kwargs.update(call["args"])
        os.environ["LECTERN_DTYPE"] = call.get("dtype", "f32")
        try:
            result = function(**kwargs)
        except MemoryError:
            _status(status="memory", call=k)
            return 3
        except RecursionError as e:
            _status(status="exception", call=k, kind="RecursionError", message=str(e), traceback=traceback.format_exc(limit=8))
            return 3
        except BaseException as e:
            _status(status="exception", call=k, kind=type(e).__name__, message=str(e), traceback=traceback.format_exc(limit=20))
            return 3
        results = list(result) if isinstance(result, tuple) else [result]
        out = os.path.join("out", str(k))
        os.makedirs(out, exist_ok=True)
        arrays = []
        for i, value in enumerate(results):
            try:
                array = _to_numpy(value, np)
                if array.dtype == object:
                    raise TypeError("returned %s, not an array of numbers" % type(value).__name__)
                # A transposed view is a right answer too: saved in C order, since the
                # grader reads no Fortran-ordered files.
                if not array.flags.c_contiguous:
                    array = array.copy(order="C")
                np.save(os.path.join(out, "%d.npy" % i), array, allow_pickle=False)
                arrays.append(array)
            except BaseException as e:
                _status(status="bad_output", call=k, index=i, message=str(e))
                return 3
        returned.append(arrays)
    _status(status="ok", calls=len(returned))
    return 0

if __name__ == "__main__":
    sys.exit(main())
