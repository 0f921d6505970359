"""Restricted evaluation of every script and expression found in BPMN and DMN.

Uploaded process files are untrusted. Scripts, gateway conditions, DMN cells and timer
expressions run through RestrictedPython: no imports, no ``open``, no dunder attributes, no
``getattr`` tricks. Compiled code objects are cached by source text, so a condition costs one
dictionary look-up plus its evaluation.

RestrictedPython does not stop a process file from stopping the service (``while True: pass``,
``10**10**8``, ``'a' * 10**10``), so the compiled code carries budget guards of its own (see
"Limits of the sandbox" in docs/process-conventions.md):

- **time**: every loop step (``for``, ``while``, each step of a comprehension), every call of a
  function or lambda defined in the source, every call a builtin makes per item (``map``,
  ``filter``, ``key=``) and every guarded operation checks the evaluation's deadline (a script has
  ``SCRIPT_TIME_LIMIT_MS``, an expression ``EXPRESSION_TIME_LIMIT_MS``, all evaluations of one
  engine action together ``ENGINE_STEP_TIME_LIMIT_MS``); ``pow`` with a modulus and
  ``sorted``/``min``/``max`` bound what their one C call may cost;
- **size**: ``*``, ``**``, ``<<``, ``+``, ``%``-formatting, f-strings, ``str``/``repr``/``format``,
  ``list``/``set``/``dict``, ``pow``, ``range`` and the growing methods of str/bytes/list/int
  (``ljust``, ``replace``, ``join``, ``extend``, ``to_bytes``, …) refuse a result over a bound
  *before* computing it;
- **allocation**: what those make, and what copying methods and slices make, is charged to the
  evaluation (``MAX_ALLOCATED``), so many values each under the bounds cannot add up to gigabytes;
- **data**: what a script leaves in the task data (and a container an expression returns, such
  as a DMN output) is measured against the state cap (``MAX_STATE_BYTES``) without expanding it.

A breach raises :class:`SandboxLimitExceeded`; it is sticky for the evaluation (a script that
catches it still fails), and the engine host turns it into an incident naming the element.
"""
from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache, partial
from threading import get_ident
from time import perf_counter
from types import CodeType, MappingProxyType
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

# ---------------------------------------------------------------------------- limits

MAX_ITEMS = 100_000  # elements of one list/tuple made by `*`/`+`/extend, length of one range()
MAX_CHARS = 2_000_000  # characters (bytes) of one str/bytes made by a guarded operation
MAX_INT_BITS = 10_000  # about 3,000 decimal digits
MAX_WIDTH = 10_000  # a width or precision in %-formatting and f-strings
MAX_DEPTH = 100  # nesting of lists/dicts left in task data
MAX_ALLOCATED = 256 * 1024 * 1024  # estimated bytes made by the guarded operations of one evaluation
MAX_POW_COST = 2**33  # exponent bits x modulus bits^2 of pow(b, e, m): about 20 ms
MAX_COMPARED = 2 * 10**9  # characters compared by one sorted()/min()/max(): about 0.1 s
_ITEM, _ENTRY = 8, 32  # estimated bytes per list item, per set/dict entry


@dataclass
class Limits:
    """The time budgets and the state cap, in force for the whole process (set from the settings
    by :func:`configure`)."""

    script_seconds: float = 1.0
    expression_seconds: float = 0.1
    step_seconds: float = 5.0
    max_state_bytes: int = 1024 * 1024


LIMITS = Limits()


def configure(script_ms: int, expression_ms: int, step_ms: int, max_state_bytes: int) -> None:
    """Apply the settings (called by ``create_app``)."""
    LIMITS.script_seconds, LIMITS.expression_seconds = script_ms / 1000, expression_ms / 1000
    LIMITS.step_seconds, LIMITS.max_state_bytes = step_ms / 1000, max_state_bytes


class SandboxLimitExceeded(Exception):
    """A script or expression went over a time or size limit. ``element`` is the BPMN/DMN
    element whose code ran (when known); the message is Chinese first, then English."""

    def __init__(self, zh: str, en: str, element: str | None = None) -> None:
        self.zh, self.en, self.element = zh, en, element
        where = f" in task {element}" if element else ""
        super().__init__(f"{zh} / {en}{where}")


_KIND_ZH = {"script": "脚本", "expression": "表达式"}


class Budget:
    """What the evaluation running on a thread may still spend. Each thread keeps one (reused:
    creating one per evaluation would cost more than the evaluation of a DMN cell); its ``tick``
    and ``getiter`` go into the evaluation's globals, so a deadline check costs one clock read and
    no look-up. Between evaluations the deadline is closed: sandboxed code that outlives its
    evaluation (a generator) cannot run."""

    __slots__ = ("deadline", "step", "kind", "seconds", "breach", "active", "allocated", "bound_tick",
                 "bound_getiter")

    def __init__(self, step: float = float("inf")) -> None:
        self.deadline, self.step, self.kind, self.seconds = 0.0, step, "expression", 0.0
        self.breach: SandboxLimitExceeded | None = None
        self.active = False
        self.allocated = 0  # estimated bytes made by guarded operations in this evaluation
        self.bound_tick, self.bound_getiter = self.tick, self.getiter

    def tick(self) -> None:
        """Called at every loop step and function call of sandboxed code."""
        if perf_counter() > self.deadline:
            self.expired()

    def getiter(self, ob: Iterable[Any]) -> Iterator[Any]:
        """Every ``for`` loop and comprehension iterates through this: one deadline check per step."""
        for item in ob:
            if perf_counter() > self.deadline:
                self.expired()
            yield item

    def expired(self) -> None:
        if self.breach is not None:
            raise self.breach  # sticky: a script that caught it meets it again at its next step
        if perf_counter() > self.step:
            ms = f"{LIMITS.step_seconds * 1000:.0f} ms"
            raise _breach(f"流程步骤超出运行时间限制（{ms}）", f"the engine step exceeded its time budget ({ms})", self)
        ms = f"{self.seconds * 1000:.0f} ms"
        raise _breach(f"{_KIND_ZH.get(self.kind, self.kind)}超出运行时间限制（{ms}）",
                      f"{self.kind} exceeded its time budget ({ms})", self)


_budgets: dict[int, Budget] = {}  # by thread id
_CLOSED = Budget()  # a thread that never evaluated anything: nothing may run


def _budget() -> Budget:
    return _budgets.get(get_ident(), _CLOSED)


def _thread_budget() -> Budget:
    tid = get_ident()
    budget = _budgets.get(tid)
    if budget is None:
        if len(_budgets) > 1000:  # threads come and go (a threaded development server)
            _budgets.clear()
        budget = _budgets[tid] = Budget()
    return budget


def _element() -> str | None:
    task = _evaluating.get()
    spec = getattr(task, "task_spec", None)
    return (getattr(spec, "bpmn_id", None) or getattr(spec, "name", None)) if spec is not None else None


def _breach(zh: str, en: str, budget: Budget | None = None) -> SandboxLimitExceeded:
    """The exception to raise; remembered by the evaluation so that catching it does not help."""
    exc = SandboxLimitExceeded(zh, en, _element())
    budget = budget or _budget()
    if budget.breach is None and budget.active:
        budget.breach = exc
    return exc


def _size_breach(what: str, size: int, limit: int, unit: tuple[str, str]) -> SandboxLimitExceeded:
    kind = _budget().kind
    return _breach(f"{_KIND_ZH.get(kind, '脚本')}结果过大：{what} 有 {size} 个{unit[1]}，超过上限 {limit}",
                   f"{kind} result too large: {what} of {size} {unit[0]} exceeds the limit of {limit}")


_CHARS, _ITEMS, _BITS = ("characters", "字符"), ("items", "元素"), ("bits", "位")


def _charge(nbytes: int) -> None:
    """Count what a guarded operation makes against the evaluation's allocation budget: each
    value is bounded on its own, and this bounds how many of them one evaluation may make (a loop
    of one-second scripts could otherwise build a gigabyte of values each under the bounds)."""
    budget = _budget()
    budget.allocated += nbytes
    if budget.allocated > MAX_ALLOCATED:
        mb = f"{MAX_ALLOCATED // 2**20} MB"
        raise _breach(f"{_KIND_ZH.get(budget.kind, '脚本')}创建的数据超过上限（{mb}）",
                      f"{budget.kind} made more data than allowed ({mb})", budget)


def _tick_() -> None:
    """A deadline check for guarded builtins (which have no budget of their own at hand)."""
    budget = _budget()
    if perf_counter() > budget.deadline:
        budget.expired()


def _getiter_(ob: Iterable[Any]) -> Iterator[Any]:
    return _budget().getiter(ob)


def start_step(seconds: float | None = None) -> float:
    """Give the evaluations of one engine action a shared deadline (a DMN table runs dozens, a
    diagram may loop through script tasks); returns what :func:`end_step` restores."""
    budget = _thread_budget()
    saved = budget.step
    budget.step = min(saved, perf_counter() + (LIMITS.step_seconds if seconds is None else seconds))
    return saved


def end_step(saved: float) -> None:
    _thread_budget().step = saved


@contextmanager
def step_budget(seconds: float | None = None) -> Iterator[None]:
    """:func:`start_step` … :func:`end_step` as a ``with`` block."""
    saved = start_step(seconds)
    try:
        yield
    finally:
        end_step(saved)


# ---------------------------------------------------------------------------- guarded operations

_SEQ = (str, bytes, bytearray, list, tuple)


def _seq_limit(seq: Any) -> tuple[int, tuple[str, str]]:
    return (MAX_CHARS, _CHARS) if isinstance(seq, (str, bytes, bytearray)) else (MAX_ITEMS, _ITEMS)


def _check_len(what: Any, size: int, new: int | None = None) -> None:
    """Refuse a str/bytes/list/tuple of ``size`` before it is made; charge the ``new`` part of it
    (what an in-place operation adds), by default all of it."""
    limit, unit = _seq_limit(what)
    if size > limit:
        raise _size_breach(type(what).__name__, size, limit, unit)
    made = size if new is None else new
    if made > 64:
        _charge(made if unit is _CHARS else made * _ITEM)


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise _size_breach("int", bits, MAX_INT_BITS, _BITS)


_SMALL = 1 << 256  # ints beyond this are charged by their size


def _charge_int(value: Any) -> Any:
    if type(value) is int and not -_SMALL < value < _SMALL:
        _charge(value.bit_length() >> 3)
    return value


def _repeat(seq: Any, times: Any) -> Any:
    n = operator.index(times)
    if n > 0:
        _check_len(seq, len(seq) * n)
    return seq * n


def _mul_(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        bits = a.bit_length() + b.bit_length()
        if bits > 256:
            _check_bits(bits)
            return _charge_int(a * b)
        return a * b
    if ta is float or tb is float:
        return a * b
    if isinstance(a, _SEQ):
        return _repeat(a, b)
    if isinstance(b, _SEQ):
        return _repeat(b, a)
    if isinstance(a, int) and isinstance(b, int):  # bool, int subclasses
        _check_bits(int(a).bit_length() + int(b).bit_length())
        return _charge_int(a * b)
    return _charge_set(a * b)


def _pow_(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        _check_bits(int(a).bit_length() * int(b))
        return _charge_int(a ** b)
    return a ** b


def _guarded_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    """``pow``; with a modulus, its cost (exponent bits x modulus bits squared) is bounded too:
    ``pow(3, e, m)`` with 10,000-bit ``e`` and ``m`` runs about 3 s in one uninterrupted call."""
    if mod is None:
        return _pow_(base, exp)
    if isinstance(mod, int) and isinstance(exp, int):
        _check_bits(int(mod).bit_length())
        cost = max(int(exp).bit_length(), 1) * int(mod).bit_length() ** 2
        if cost > MAX_POW_COST:
            raise _breach(f"pow() 运算量过大：指数 {int(exp).bit_length()} 位、模数 {int(mod).bit_length()} 位",
                          f"pow() too costly: a {int(exp).bit_length()}-bit exponent with a "
                          f"{int(mod).bit_length()}-bit modulus")
    _tick_()
    return pow(base, exp, mod)


def _lshift_(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        _check_bits(int(a).bit_length() + int(b))
        return _charge_int(a << b)
    return a << b


def _add_(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is float:
        return a + b
    if ta is int:
        return _charge_int(a + b)
    if isinstance(a, _SEQ) and isinstance(b, _SEQ):
        _check_len(a, len(a) + len(b))
    return _charge_set(a + b)


def _charge_set(value: Any) -> Any:
    """Charge a set or dict that an operator made (``s | t``, ``d | e``, ``s - t``)."""
    if isinstance(value, (set, frozenset, dict)) and len(value) > 8:
        _charge(len(value) * _ENTRY)
    return value


def _setop(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def guarded(a: Any, b: Any) -> Any:
        ta = type(a)
        if ta is float:
            return op(a, b)
        if ta is int:
            return _charge_int(op(a, b))
        return _charge_set(op(a, b))
    return guarded


_PERCENT = re.compile(rb"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)?", re.S)


def _check_widths(widths: Iterable[bytes | str | None]) -> int:
    """Refuse widths and precisions over ``MAX_WIDTH``; returns the largest (what a field may add)."""
    widest = 0
    for w in widths:
        if not w:
            continue
        if w in ("*", b"*"):
            raise _breach("不允许使用 '*' 宽度", "'*' widths are not allowed in %-formatting")
        if len(w) > 6 or int(w) > MAX_WIDTH:
            raise _size_breach("format width", int(w) if len(w) < 20 else 10**19, MAX_WIDTH, _CHARS)
        widest = max(widest, int(w))
    return widest


def _text_size(value: Any, conversion: str = "s") -> int:
    """An upper estimate of ``len(str(value))`` (``conversion`` ``'r'``/``'a'``: of repr/ascii),
    computed without converting: a list holding one long string 100,000 times, or a structure with
    shared references, is measured (stopping past the limit) instead of being turned into text."""
    t = type(value)
    if t is str:
        if conversion == "s" or (value.isascii() and value.isprintable()):
            return len(value) + 2
        return 10 * len(value) + 2  # '\U0001f600'
    if t is bytes or t is bytearray:
        return 4 * len(value) + 14
    if t is int:
        return _int_digits(value)
    if isinstance(value, _CONTAINERS):
        return measure_data(value, MAX_CHARS + 1)
    return 64  # float, None, a range, an instance of a class of the script (whose methods are guarded)


def _int_digits(value: int) -> int:
    return (value.bit_length() * 77 >> 8) + 2  # log10(2) is about 77/256


_CONVERSION_NAMES = {"s": "str", "r": "repr", "a": "ascii"}


def _converted(value: Any, conversion: str) -> str:
    """``str``/``repr``/``ascii`` of a value, refused before converting when the text would be
    over ``MAX_CHARS``, charged when new."""
    size = _text_size(value, conversion)
    if size > MAX_CHARS:
        raise _size_breach(f"{_CONVERSION_NAMES[conversion]}() of {type(value).__name__}", size, MAX_CHARS, _CHARS)
    if conversion == "s":
        text = str(value)
    else:
        text = repr(value) if conversion == "r" else ascii(value)
    if text is not value and len(text) > 64:
        _charge(len(text))
    return text


def _mod_(a: Any, b: Any) -> Any:
    """``%``: for text, the result's size is estimated from the fields and their arguments (so
    ``'%s' * 1000 % ((big,) * 1000)`` is refused before it is made) and charged."""
    if not isinstance(a, (str, bytes)):
        return _charge_int(a % b) if type(a) is int else a % b
    raw = a.encode("utf-8", "surrogatepass") if isinstance(a, str) else a
    if b"%" not in raw:
        return a % b
    args = b if isinstance(b, tuple) else (b,)
    mapping = b if isinstance(b, Mapping) else None
    size, position = len(a), 0
    for m in _PERCENT.finditer(raw):
        key, width, precision, kind = m.groups()
        size += _check_widths((width, precision))
        if kind == b"%" or kind is None:
            continue
        if mapping is not None and key is not None:
            value = mapping.get(key.decode("utf-8", "surrogatepass"))
        elif position < len(args):
            value, position = args[position], position + 1
        else:
            continue  # Python itself refuses: not enough arguments
        size += _text_size(value, "r" if kind in (b"r", b"a") else "s")
        if size > MAX_CHARS:
            raise _size_breach("%-formatting", size, MAX_CHARS, _CHARS)
    if size > 64:
        _charge(size)
    return a % b


_SPEC_DIGITS = re.compile(r"\d+")
_CONVERSIONS = {ord("r"): "r", ord("s"): "s", ord("a"): "a"}


def _fmt_(value: Any, conversion: int, spec: str) -> str:
    """One field of an f-string (``f'{x!r:>{n}}'``): converted, widths checked, size bounded."""
    if conversion in _CONVERSIONS:
        value = _converted(value, _CONVERSIONS[conversion])
    widest = _check_widths(_SPEC_DIGITS.findall(spec)) if spec else 0
    if type(value) is str:
        if not spec:
            return value
        size = len(value) + widest
    else:
        size = _text_size(value) + widest
    if size > MAX_CHARS:
        raise _size_breach("f-string field", size, MAX_CHARS, _CHARS)
    return format(value, spec)


def _fjoin_(*parts: str) -> str:
    """An f-string: its fields are bounded one by one, and together here."""
    size = 0
    for part in parts:
        size += len(part)
    _check_len("", size)
    return "".join(parts)


def _guarded_format(value: Any, spec: str = "") -> str:
    if not isinstance(spec, str):
        raise TypeError("format() argument 2 must be str")
    return _fmt_(value, -1, spec)


def _width(self: Any, width: Any, *args: Any, name: str) -> Any:
    w = operator.index(width)
    _check_len(self, w)
    return getattr(type(self), name)(self, w, *args)


def _replace(self: Any, old: Any, new: Any, count: Any = -1) -> Any:
    if len(new) > len(old):
        n = self.count(old) if old else len(self) + 1
        c = operator.index(count)
        if 0 <= c < n:
            n = c
        _check_len(self, len(self) + n * (len(new) - len(old)))
    return self.replace(old, new, count)


def _expandtabs(self: Any, tabsize: Any = 8) -> Any:
    t = operator.index(tabsize)
    tabs = self.count("\t" if isinstance(self, str) else b"\t")
    _check_len(self, len(self) + tabs * max(t, 0))
    return self.expandtabs(t)


def _translate(self: Any, table: Any, *args: Any) -> Any:
    if isinstance(table, Mapping):
        longest = max((len(v) for v in table.values() if isinstance(v, (str, bytes))), default=1)
        _check_len(self, len(self) * max(longest, 1))
    return self.translate(table, *args)


def _join(self: Any, iterable: Iterable[Any]) -> Any:
    items = list(iterable)
    _check_len(self, sum(len(i) for i in items if isinstance(i, (str, bytes))) + len(self) * max(len(items) - 1, 0))
    return self.join(items)


def _extend(self: list[Any], iterable: Iterable[Any]) -> None:
    if hasattr(iterable, "__len__"):
        _check_len(self, len(self) + len(iterable), len(iterable))  # type: ignore[arg-type]
        self.extend(iterable)
        return
    before = len(self)
    self.extend(iterable)  # a generator ticks at each step
    _check_len(self, len(self), len(self) - before)


def _sort(self: list[Any], *, key: Any = None, reverse: Any = False) -> None:
    _check_comparisons(self, sorting=True)
    self.sort(key=_ticking(key), reverse=reverse)


def _to_bytes(self: int, length: Any = 1, *args: Any, **kwargs: Any) -> bytes:
    _check_len(b"", operator.index(length))
    return self.to_bytes(length, *args, **kwargs)


_METHODS: dict[str, Callable[..., Any]] = {
    "ljust": partial(_width, name="ljust"), "rjust": partial(_width, name="rjust"),
    "center": partial(_width, name="center"), "zfill": partial(_width, name="zfill"),
    "replace": _replace, "expandtabs": _expandtabs, "translate": _translate, "join": _join,
}
_GUARDED_METHODS: dict[type, dict[str, Callable[..., Any]]] = {
    str: _METHODS, bytes: _METHODS, bytearray: _METHODS, list: {"extend": _extend, "sort": _sort},
    int: {"to_bytes": _to_bytes},
}
_GUARDED_NAMES = frozenset(name for methods in _GUARDED_METHODS.values() for name in methods)
# methods that make a new value as large as their object (or a list of its pieces): charged after
_COPYING = frozenset({
    "upper", "lower", "casefold", "swapcase", "title", "capitalize", "strip", "lstrip", "rstrip",
    "split", "rsplit", "splitlines", "partition", "rpartition", "encode", "decode", "removeprefix",
    "removesuffix", "hex", "copy", "union", "intersection", "difference", "symmetric_difference",
    "fromkeys",
})
_COPYING_TYPES = (str, bytes, bytearray, list, dict, set, frozenset)


def _charged_call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    _tick_()
    result = method(*args, **kwargs)
    t = type(result)
    if t is str or t is bytes or t is bytearray:
        if len(result) > 64 and not any(result is a for a in args):
            _charge(len(result))
    elif t is list or t is tuple:
        if len(result) > 8:  # the pieces of a split: a list and a string per piece
            _charge(len(result) * (_ITEM + 50) + sum(len(a) for a in args if isinstance(a, (str, bytes))))
    elif t is set or t is frozenset or t is dict:
        if len(result) > 8:
            _charge(len(result) * _ENTRY)
    return result


def _getattr_(obj: Any, name: str, default: Any = None) -> Any:
    """RestrictedPython's ``safer_getattr``, with the methods that grow a value guarded and those
    that copy one charged."""
    value = safer_getattr(obj, name, default)
    if name in _GUARDED_NAMES:
        for kind, methods in _GUARDED_METHODS.items():
            guard = methods.get(name)
            if guard is None:
                continue
            if obj is kind or (isinstance(obj, type) and issubclass(obj, kind)):
                return guard  # unbound, as in str.ljust(s, n)
            if isinstance(obj, kind):
                return partial(guard, obj)
    if name in _COPYING and callable(value) and (
            isinstance(obj, _COPYING_TYPES) or (isinstance(obj, type) and issubclass(obj, _COPYING_TYPES))):
        return partial(_charged_call, value)
    return value


def _guarded_range(*args: Any) -> range:
    r = range(*args)
    try:
        n = len(r)
    except OverflowError:  # longer than sys.maxsize
        n = MAX_ITEMS + 1
    if n > MAX_ITEMS:
        raise _size_breach("range", n, MAX_ITEMS, _ITEMS)
    return r


def _ticking(function: Any) -> Any:
    """A function given to a builtin that calls it per item (``map``, ``filter``, ``key=``): one
    deadline check per call, so ``map(str.upper, [s] * 100000)`` cannot run on in C."""
    if function is None:
        return None
    if not callable(function):
        raise TypeError(f"{type(function).__name__!r} object is not callable")

    def call(*args: Any, **kwargs: Any) -> Any:
        _tick_()
        return function(*args, **kwargs)
    return call


def _guarded_map(function: Any, *iterables: Iterable[Any]) -> Iterator[Any]:
    return map(_ticking(function), *iterables)


def _guarded_filter(function: Any, iterable: Iterable[Any]) -> Iterator[Any]:
    return filter(_ticking(function), iterable)


def _collect(kind: type, iterable: Any, per_item: int) -> Any:
    """``list(x)``/``set(x)``: a sized source over ``MAX_ITEMS`` is refused before copying, a
    generator is bounded by its own deadline checks; what is made is charged."""
    try:
        n = len(iterable)
    except TypeError:
        n = None
    if n is not None and n > MAX_ITEMS:
        raise _size_breach(f"{kind.__name__}()", n, MAX_ITEMS, _ITEMS)
    result = kind(iterable)
    if n is None and len(result) > MAX_ITEMS:
        raise _size_breach(f"{kind.__name__}()", len(result), MAX_ITEMS, _ITEMS)
    if len(result) > 8:
        if not isinstance(iterable, _EXISTING):  # made from a range, a generator, a map: new items too
            per_item += _NEW_ITEM
        _charge(len(result) * per_item)
    return result


_EXISTING = (str, bytes, bytearray, list, tuple, set, frozenset, dict)
_NEW_ITEM = 32  # estimated bytes of an item that a generator or range makes (an int, a short str)


def _check_comparisons(items: list[Any], sorting: bool) -> None:
    """``sorted``/``min``/``max`` compare in one C call: bound the characters they may compare
    (100,000 references to two long strings with a common prefix would compare for minutes)."""
    n = len(items)
    if n < 16:
        return
    try:
        longest = max(map(len, items))
    except TypeError:  # numbers, or a mix (which Python refuses to order anyway)
        return
    compared = n * (n.bit_length() if sorting else 1) * longest
    if compared > MAX_COMPARED:
        raise _breach(f"排序或比较的数据过多：{n} 项，最长 {longest}",
                      f"too much to compare: {n} items, the longest of {longest}")


def _guarded_sorted(iterable: Iterable[Any], /, *, key: Any = None, reverse: Any = False) -> list[Any]:
    items = _collect(list, iterable, _ITEM)
    _sort(items, key=key, reverse=reverse)
    return items


def _extreme(function: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        _tick_()
        if "key" in kwargs:
            kwargs["key"] = _ticking(kwargs["key"])
        if len(args) == 1:
            items = args[0] if isinstance(args[0], list) else _collect(list, args[0], _ITEM)
            _check_comparisons(items, sorting=False)
            return function(items, **kwargs)
        return function(*args, **kwargs)
    guarded.__name__ = function.__name__
    return guarded


class _GuardedType(type):
    """The type of a guarded builtin type: calling it is checked, while ``isinstance`` and
    ``issubclass`` see the builtin itself (``isinstance(x, str)`` in a script keeps working)."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, cls.__mro__[1])

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls.__mro__[1])


class _Str(str, metaclass=_GuardedType):
    __slots__ = ()

    def __new__(cls, obj: Any = "", *args: Any, **kwargs: Any) -> str:  # type: ignore[misc]
        if args or kwargs:  # str(b, 'utf-8'): as long as its bytes at most
            text = str(obj, *args, **kwargs)
            if len(text) > 64:
                _charge(len(text))
            return text
        return _converted(obj, "s")


class _List(list, metaclass=_GuardedType):  # type: ignore[type-arg]
    __slots__ = ()

    def __new__(cls, iterable: Iterable[Any] = ()) -> list[Any]:  # type: ignore[misc]
        return _collect(list, iterable, _ITEM)  # type: ignore[no-any-return]


class _Set(set, metaclass=_GuardedType):  # type: ignore[type-arg]
    __slots__ = ()

    def __new__(cls, iterable: Iterable[Any] = ()) -> set[Any]:  # type: ignore[misc]
        return _collect(set, iterable, _ENTRY)  # type: ignore[no-any-return]


class _Dict(dict, metaclass=_GuardedType):  # type: ignore[type-arg]
    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> dict[Any, Any]:  # type: ignore[misc]
        if args:
            try:
                n = len(args[0])
            except TypeError:
                n = None
            if n is not None and n > MAX_ITEMS:
                raise _size_breach("dict()", n, MAX_ITEMS, _ITEMS)
        result = dict(*args, **kwargs)
        if len(result) > MAX_ITEMS:
            raise _size_breach("dict()", len(result), MAX_ITEMS, _ITEMS)
        if len(result) > 8:
            _charge(len(result) * _ENTRY)
        return result


def _guarded_sum(iterable: Iterable[Any], start: Any = 0) -> Any:
    if not isinstance(start, (int, float, complex)):
        raise _breach("sum() 只能对数字求和", "sum() adds numbers only; build lists with a comprehension")
    _tick_()
    return sum(iterable, start)


def _ticked(function: Callable[..., Any]) -> Callable[..., Any]:
    """A builtin that may run long in C: one deadline check per call."""
    def call(*args: Any, **kwargs: Any) -> Any:
        _tick_()
        return function(*args, **kwargs)
    call.__name__ = function.__name__
    return call


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if op == "+=":
        if isinstance(x, _SEQ) and hasattr(y, "__len__"):
            _check_len(x, len(x) + len(y))
        return operator.iadd(x, y)
    if op == "*=":
        if isinstance(x, list):  # in place: the list itself grows
            n = operator.index(y)
            if n > 0:
                _check_len(x, len(x) * n)
            return operator.imul(x, n)
        return _mul_(x, y)
    try:
        return _INPLACE[op](x, y)
    except KeyError:
        raise SyntaxError(f"operator {op} is not allowed in process scripts") from None


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "-=": operator.isub, "/=": operator.itruediv, "//=": operator.ifloordiv, "%=": _mod_,
    "|=": operator.ior, "&=": operator.iand,
}


def _safe_getitem(obj: Any, key: Any) -> Any:
    if isinstance(key, str) and key.startswith("_"):
        raise KeyError(f"names starting with '_' are not accessible: {key!r}")
    if type(key) is slice:  # a copy
        part = obj[key]
        if isinstance(part, _SEQ) and len(part) > 64 and part is not obj:
            _charge(len(part) if isinstance(part, (str, bytes, bytearray)) else len(part) * _ITEM)
        return part
    return obj[key]


_EXTRA_BUILTINS = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in ("any", "all", "len", "enumerate", "reversed")
}
_GUARDED_BUILTINS = {
    **{name: _ticked(_EXTRA_BUILTINS[name]) for name in ("any", "all")},
    "min": _extreme(min), "max": _extreme(max), "sorted": _guarded_sorted, "map": _guarded_map,
    "filter": _guarded_filter, "str": _Str, "list": _List, "set": _Set, "dict": _Dict,
    "repr": partial(_converted, conversion="r"), "ascii": partial(_converted, conversion="a"),
    "format": _guarded_format, "sum": _guarded_sum, "range": _guarded_range, "pow": _guarded_pow,
}

BASE_GLOBALS: dict[str, Any] = {
    "__builtins__": {**safe_builtins, **_EXTRA_BUILTINS, **_GUARDED_BUILTINS},
    "_getattr_": _getattr_,
    "_getitem_": _safe_getitem,
    "_getiter_": _getiter_,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplacevar,
    "_tick_": _tick_, "_mul_": _mul_, "_pow_": _pow_, "_lshift_": _lshift_, "_add_": _add_, "_mod_": _mod_,
    "_or_": _setop(operator.or_), "_and_": _setop(operator.and_), "_xor_": _setop(operator.xor),
    "_sub_": _setop(operator.sub), "_fmt_": _fmt_, "_fjoin_": _fjoin_,
}
_RESERVED = frozenset(BASE_GLOBALS) | {"__builtins__"}


# ---------------------------------------------------------------------------- compiling with guards

_BINOP_GUARDS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Add: "_add_", ast.Mod: "_mod_",
                 ast.BitOr: "_or_", ast.BitAnd: "_and_", ast.BitXor: "_xor_", ast.Sub: "_sub_"}


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Name(name, ast.Load()), args=list(args), keywords=[])


class BudgetTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus the budget guards: deadline checks in loops and function
    bodies (``for`` and comprehensions tick through ``_getiter_``), and guarded operators."""

    def visit_While(self, node: ast.While) -> Any:
        node = super().visit_While(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_tick_")), node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> Any:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, ast.copy_location(ast.Expr(_call("_tick_")), node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> Any:
        node = super().visit_Lambda(node)
        node.body = ast.copy_location(ast.BoolOp(op=ast.Or(), values=[_call("_tick_"), node.body]), node.body)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = super().visit_BinOp(node)
        guard = _BINOP_GUARDS.get(type(node.op))
        if guard is None:
            return node
        return ast.copy_location(_call(guard, node.left, node.right), node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> Any:
        """An f-string becomes ``_fjoin_(part, _fmt_(value, conversion, spec), …)``: each field is
        bounded, then their total (``f'{s}{s}{s}…'`` of a long ``s``)."""
        node = super().visit_JoinedStr(node)
        parts: list[ast.expr] = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                spec = part.format_spec if part.format_spec is not None else ast.Constant("")
                parts.append(ast.copy_location(_call("_fmt_", part.value, ast.Constant(part.conversion), spec), part))
            else:
                parts.append(part)
        return ast.copy_location(_call("_fjoin_", *parts), node)

    def visit_Module(self, node: ast.Module) -> Any:
        return ast.fix_missing_locations(super().visit_Module(node))

    def visit_Expression(self, node: ast.Expression) -> Any:
        return ast.fix_missing_locations(super().visit_Expression(node))


def compile_expression(source: str) -> CodeType:
    """Compile an expression under RestrictedPython; errors surface as SyntaxError with a line."""
    return _compile_expression(source)[0]


_UNBOUNDED = (ast.Call, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@lru_cache(maxsize=4096)
def _compile_expression(source: str) -> tuple[CodeType, bool]:
    """The code, and whether it is *straight*: no call, no lambda, no comprehension. A straight
    expression (most conditions and DMN cells: ``urgency == 'urgent'``, ``< 5``) cannot loop, and
    its guarded operators bound every value it makes, so it runs without a budget of its own."""
    result = _compiling(compile_restricted_eval, source.strip(), "<expression>")
    if result.errors or result.code is None:
        raise SyntaxError("; ".join(result.errors) or "invalid expression", ("<expression>", 1, 0, source))
    straight = not any(isinstance(node, _UNBOUNDED) for node in ast.walk(ast.parse(source.strip(), mode="eval")))
    return result.code, straight


@lru_cache(maxsize=4096)
def compile_script(source: str) -> CodeType:
    result = _compiling(compile_restricted_exec, source, "<string>")
    if result.errors or result.code is None:
        message = "; ".join(result.errors) or "invalid script"
        line = _first_line_number(result.errors)
        raise SyntaxError(message, ("<string>", line, 0, source))
    return result.code


def _compiling(compile_: Callable[..., Any], source: str, filename: str) -> Any:
    """Compile, turning what Python's own compiler raises on pathological source (``1+1+…`` a
    hundred thousand times: RecursionError or MemoryError) into a SyntaxError with a message."""
    try:
        return compile_(source, filename, policy=BudgetTransformer)
    except (RecursionError, MemoryError):
        raise SyntaxError("the code is nested too deeply to compile", (filename, 1, 0, source[:200])) from None
    except ValueError as exc:  # e.g. NUL characters
        raise SyntaxError(str(exc), (filename, 1, 0, source[:200])) from None


def _first_line_number(errors: tuple[str, ...] | list[str]) -> int:
    for err in errors:
        if err.startswith("Line "):
            try:
                return int(err[5:].split(":", 1)[0])
            except ValueError:
                break
    return 1


def check_source(source: str, kind: str) -> None:
    """Compile a script (``kind='script'``) or expression at deploy time so errors show early."""
    (compile_script if kind == "script" else compile_expression)(source)


# ---------------------------------------------------------------------------- data size

_CONTAINERS = (list, tuple, set, frozenset, dict)


def measure_data(value: Any, limit: int) -> int:
    """The approximate JSON size of ``value``, walked without recursion and stopped as soon as
    it passes ``limit`` (so data with shared references, ``x = [x, x]`` repeated, or a list that
    contains itself costs at most ``limit`` steps instead of exploding in the serializer)."""
    if not isinstance(value, _CONTAINERS):
        if isinstance(value, (str, bytes)):
            return len(value) + 2
        return _int_digits(value) if type(value) is int else 8
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        container, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise _breach(f"流程数据嵌套超过 {MAX_DEPTH} 层", f"process data is nested deeper than {MAX_DEPTH} levels")
        total += 2 + len(container)
        if isinstance(container, dict):
            for key in container:
                total += len(key) + 2 if type(key) is str else 8
            items: Iterable[Any] = container.values()
        else:
            items = container
        for item in items:
            t = type(item)
            if t is str:
                total += len(item) + 2
            elif t is int:
                total += 6 if -_SMALL < item < _SMALL else _int_digits(item)
            elif t is bool or t is float or item is None:
                total += 6
            elif isinstance(item, _CONTAINERS):
                stack.append((item, depth + 1))
            elif isinstance(item, (str, bytes)):
                total += len(item) + 2
            else:
                total += 32
        if total > limit:
            break
    return total


def _check_data(values: Any, what_zh: str, what_en: str) -> None:
    limit = LIMITS.max_state_bytes
    if measure_data(values, limit) > limit:
        kb = f"{limit // 1024} KB"
        raise _breach(f"{what_zh}超过流程状态的大小上限（{kb}）", f"{what_en} exceeds the workflow state limit ({kb})")


# ---------------------------------------------------------------------------- environment & engine

class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Runs expressions and scripts against task data under RestrictedPython, within budget.

    ``helpers`` are read-only functions offered to designers (e.g. ``unit_ancestor``); they are
    never written back into task data.
    """

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None) -> None:
        super().__init__({})
        self.helpers = MappingProxyType(dict(helpers or {}))
        self._base = {**BASE_GLOBALS, **self.helpers}  # copied per evaluation (a DMN table runs dozens)

    def _globals(self, context: Mapping[str, Any], external: Mapping[str, Any] | None) -> dict[str, Any]:
        g: dict[str, Any] = self._base.copy()
        if external:
            g.update(external)
        g.update(context)
        return g

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        code, straight = _compile_expression(expression)
        g = self._globals(context, external_context)
        if straight:
            budget = _budgets.get(get_ident()) or _thread_budget()
            if not budget.active and perf_counter() <= budget.step:
                budget.kind, budget.allocated = "expression", 0  # for the size guards
                result = eval(code, g)  # noqa: S307 - restricted code
                if isinstance(result, (list, dict, tuple, set)):
                    _check_data(result, "表达式的结果", "the value of the expression")
                return result
        saved = _enter("expression", LIMITS.expression_seconds)
        g["_tick_"], g["_getiter_"] = saved[0].bound_tick, saved[0].bound_getiter
        try:
            result = eval(code, g)  # noqa: S307 - restricted code
            if isinstance(result, (list, dict, tuple, set)):
                _check_data(result, "表达式的结果", "the value of the expression")
        finally:
            breach = _leave(saved)
        if breach is not None:
            raise breach
        return result

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        code = compile_script(script)
        clash = (set(self.helpers) | set(external_context or {})) & set(context)
        if clash:
            raise ValueError(f"task data overwrites predefined function(s): {', '.join(sorted(clash))}")
        g = self._globals(context, external_context)
        saved = _enter("script", LIMITS.script_seconds)
        g["_tick_"], g["_getiter_"] = saved[0].bound_tick, saved[0].bound_getiter
        try:
            exec(code, g)  # noqa: S102 - restricted code
            written = {}
            for key, value in g.items():
                if key in _RESERVED or key in self.helpers or (external_context and key in external_context):
                    continue
                if key.startswith("_") or callable(value):
                    continue
                written[key] = value
            _check_data(written, "脚本留下的流程数据", "the task data left by the script")
            deleted = [key for key in context if key not in g]  # `del name` removes it from the data
        finally:
            breach = _leave(saved)
        if breach is not None:
            raise breach
        for key in deleted:
            del context[key]
        context.update(written)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise PermissionError("service tasks are not enabled in Tongguan processes")


def _enter(kind: str, seconds: float) -> tuple[Budget, Budget | None]:
    """Start an evaluation's budget on this thread; returns what :func:`_leave` needs."""
    budget = _budgets.get(get_ident()) or _thread_budget()
    previous = None
    if budget.active:  # an evaluation inside another (a helper that evaluates): a budget of its own
        previous, budget = budget, Budget(budget.step)
        _budgets[get_ident()] = budget
    now = perf_counter()
    budget.kind, budget.seconds, budget.breach, budget.active = kind, seconds, None, True
    budget.allocated = 0
    deadline = now + seconds
    budget.deadline = deadline if deadline < budget.step else budget.step
    if now > budget.step:  # the engine step has used its budget: no further evaluation starts
        try:
            budget.expired()
        finally:
            _leave((budget, previous))
    return budget, previous


def _leave(entered: tuple[Budget, Budget | None]) -> SandboxLimitExceeded | None:
    budget, previous = entered
    budget.deadline, budget.active = 0.0, False
    if previous is not None:
        previous.step = budget.step
        _budgets[get_ident()] = previous
    return budget.breach


_evaluating: ContextVar[Any] = ContextVar("tongguan_evaluating_task", default=None)


def evaluating_task() -> Any:
    """The SpiffWorkflow task whose script or expression is running (for helpers such as
    ``deadline()``), or None outside an evaluation."""
    return _evaluating.get()


class RestrictedScriptEngine(PythonScriptEngine):
    def __init__(self, environment: BasePythonScriptEngineEnvironment | None = None) -> None:
        super().__init__(environment or RestrictedEnvironment())

    def evaluate(self, task: Any, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        token = _evaluating.set(task)
        try:
            return super().evaluate(task, expression, external_context)
        finally:
            _evaluating.reset(token)

    def execute(self, task: Any, script: str, external_context: dict[str, Any] | None = None) -> Any:
        token = _evaluating.set(task)
        try:
            return super().execute(task, script, external_context)
        finally:
            _evaluating.reset(token)

    def validate(self, expression: str) -> None:
        compile_expression(expression)


def limit_exceeded(exc: BaseException | None) -> SandboxLimitExceeded | None:
    """The sandbox breach behind ``exc`` (SpiffWorkflow wraps it in its own exceptions), if any."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, SandboxLimitExceeded):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None
