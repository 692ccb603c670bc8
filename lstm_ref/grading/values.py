"""What a student's code returned, as plain data: arrays and a few strings.

The grading kernel runs the student's code and writes each returned object as a
:class:`Value`; the grader reads it back and judges it. Records are ``.npz`` files read
with ``allow_pickle=False``: only arrays of numbers or fixed-width text can come back,
never an object that runs code when it is loaded.

    value = to_value(torch.ones(2, 3, dtype=torch.float32))
    value.kind, value.dtype, value.array.shape      # ('tensor', 'float32', (2, 3))
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

MAX_ELEMENTS = 5_000_000  # a record larger than this is refused (it cannot be an answer)


@dataclass(frozen=True)
class Value:
    """One returned object.

    kind: "tensor", "ndarray" (NumPy arrays and scalars), "number" (Python int, float,
    bool), "sequence" (a list or tuple of numbers), "none", or "other" (anything else,
    described by ``text``). ``dtype`` is NumPy's name ("float32") or the Python type's.
    """

    kind: str
    array: np.ndarray | None = field(default=None, compare=False, repr=False)
    dtype: str = ""
    device: str = "cpu"
    requires_grad: bool = False
    text: str = ""

    @property
    def numeric(self) -> bool:
        return self.array is not None


def _describe(obj) -> str:
    if isinstance(obj, tuple | list):
        inner = ", ".join(_describe(item) for item in obj[:4])
        return f"a {type(obj).__name__} of {len(obj)}: ({inner}{', ...' if len(obj) > 4 else ''})"
    if isinstance(obj, torch.Tensor):
        return f"a tensor of shape {tuple(obj.shape)}"
    if isinstance(obj, np.ndarray):
        return f"an array of shape {obj.shape}"
    return f"{type(obj).__name__} {obj!r:.60}"


def describe(obj) -> str:
    """A short phrase for an object, for messages: "a tuple of 2: (a tensor of shape (3,), ...)"."""
    return _describe(obj)


def to_value(obj) -> Value:
    """``obj`` as plain data; never raises."""
    try:
        if isinstance(obj, torch.Tensor):
            data = obj.detach().resolve_conj().resolve_neg().to("cpu")
            if data.dtype == torch.bfloat16:
                data = data.float()
            return Value("tensor", data.numpy().copy(), str(obj.dtype).removeprefix("torch."),
                         obj.device.type, bool(obj.requires_grad))  # fmt: skip
        if isinstance(obj, np.ndarray | np.generic) and np.asarray(obj).dtype.kind in "biufc":
            array = np.array(obj)
            return Value("ndarray", array, array.dtype.name)
        if isinstance(obj, bool | int | float) and not isinstance(obj, np.generic):
            return Value("number", np.array(obj), type(obj).__name__)
        if obj is None:
            return Value("none", text="None")
        if isinstance(obj, tuple | list) and obj and all(
            isinstance(item, bool | int | float | np.generic) for item in obj
        ):
            return Value("sequence", np.array(obj), type(obj).__name__, text=_describe(obj))
    except Exception:  # noqa: BLE001 - an object that cannot be read is described instead
        pass
    return Value("other", text=_describe(obj)[:200])


# ---------------------------------------------------------------- records: one .npz file


@dataclass
class Outcome:
    """What one case gave: the values returned, or the error raised (``"Type: message"``)."""

    values: list[Value] | None = None
    error_type: str = ""
    error: str = ""


def save(path: Path, outcomes: list[list[Outcome]]) -> None:
    """Write the outcomes of every part and case of one check call to ``path``."""
    arrays, meta = {}, []
    for p, part in enumerate(outcomes):
        meta.append([])
        for c, outcome in enumerate(part):
            entry = {"error_type": outcome.error_type, "error": outcome.error[:2000]}
            if outcome.values is not None:
                entry["values"] = []
                for v, value in enumerate(outcome.values):
                    fields = asdict(value)
                    del fields["array"]
                    if value.array is not None:
                        arrays[f"p{p}_c{c}_v{v}"] = value.array
                    entry["values"].append(fields)
            meta[-1].append(entry)
    arrays["meta"] = np.array(json.dumps(meta))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load(path: Path) -> list[list[Outcome]]:
    """Read what :func:`save` wrote. Raises ValueError for anything else (never unpickles)."""
    with np.load(path, allow_pickle=False) as data:
        unpacked = sum(info.file_size for info in data.zip.infolist())
        if unpacked > 8 * MAX_ELEMENTS + (1 << 20):  # refused before anything is unpacked
            raise ValueError(f"the record unpacks to {unpacked} bytes, more than any answer")
        meta = json.loads(str(data["meta"]))
        if not isinstance(meta, list):
            raise ValueError("the record holds no list of parts")
        parts = []
        total = 0
        for p, part in enumerate(meta):
            outcomes = []
            for c, entry in enumerate(part):
                values = None
                if "values" in entry:
                    values = []
                    for v, fields in enumerate(entry["values"]):
                        key = f"p{p}_c{c}_v{v}"
                        array = data[key] if key in data.files else None
                        if array is not None:
                            if array.dtype.kind not in "biufc":
                                raise ValueError(f"{key} is not numeric")
                            total += array.size
                        values.append(Value(array=array, **_fields(fields)))
                outcomes.append(Outcome(values, str(entry.get("error_type", "")),
                                        str(entry.get("error", ""))))  # fmt: skip
            parts.append(outcomes)
        if total > MAX_ELEMENTS:
            raise ValueError(f"the record holds {total} numbers, more than any answer")
        return parts


def _fields(fields: dict) -> dict:
    allowed = {"kind": str, "dtype": str, "device": str, "requires_grad": bool, "text": str}
    return {name: kind(fields[name]) for name, kind in allowed.items() if name in fields}
