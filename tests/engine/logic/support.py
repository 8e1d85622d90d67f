"""Helpers shared by the JSON Logic tests: the scalar reference, JSON equality, one-row frames."""

import json
import math

import datalogic_py
import polars as pl

from engine.logic.compile import compile_logic

ENGINE = datalogic_py.Engine()
ERROR = "<error>"  # what an evaluation that raises gives, on either path
INEXACT = "<inexact>"  # the compiled path deferring the row to the scalar path


def scalar(rule, data):
    """datalogic-py's answer for one record, or ERROR.

    The rule goes in as JSON text: datalogic-py's compile() reads a Python str as JSON text, so a
    bare string rule ("apple") would otherwise be parsed instead of taken as a string.
    """
    try:
        return ENGINE.compile(json.dumps(rule)).evaluate(data)
    except datalogic_py.DataLogicError:
        return ERROR


def json_equal(a, b):
    """Equality with JSON semantics: 1 == 1.0, but True != 1 and 0 != False."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def decode_tagged(tagged):
    """The Python value of one row of `Compiled.tagged`."""
    kind = tagged["kind"]
    if kind == "error":
        return ERROR
    if kind == "null":
        return None
    if kind == "json":
        return json.loads(tagged["json"])
    return tagged[kind]


def is_flat(data):
    """A record of scalars (or no record at all): what one population row can hold."""
    if data is None:
        return True
    return isinstance(data, dict) and all(not isinstance(v, (list, dict)) for v in data.values())


def dtype_of(value):
    if value is None:
        return pl.Null
    if isinstance(value, bool):
        return pl.Boolean
    if isinstance(value, int):
        return pl.Int64
    if isinstance(value, float):
        return pl.Float64
    return pl.String


def one_row_frame(data):
    """A one-row DataFrame for a flat record; a missing key is a missing column."""
    if not data:
        return pl.DataFrame()
    return pl.DataFrame({k: pl.Series(k, [v], dtype=dtype_of(v)) for k, v in data.items()})


def compiled_rows(rule, frame):
    """The compiled answers for every row of `frame` (ERROR / INEXACT / the value)."""
    compiled = compile_logic(rule, frame.schema)
    if not frame.columns:  # no record: evaluate on one row that the rule cannot see
        frame = pl.DataFrame({"__row": [0]})
    out = frame.select(compiled.tagged, compiled.error, compiled.inexact)
    answers = []
    for tagged, error, inexact in out.iter_rows():
        if inexact:
            answers.append(INEXACT)
        elif error:
            answers.append(ERROR)
        else:
            answers.append(decode_tagged(tagged))
    return answers


def same_answer(a, b):
    if a is ERROR or b is ERROR:
        return a is b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return json_equal(a, b)
