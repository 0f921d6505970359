"""Restricted evaluation of every script and expression found in BPMN and DMN.

Uploaded process files are untrusted. Scripts, gateway conditions, DMN cells and timer
expressions run through RestrictedPython: no imports, no ``open``, no dunder attributes, no
``getattr`` tricks. Compiled code objects are cached by source text, so a condition costs one
dictionary look-up plus its evaluation.

RestrictedPython does not stop a process file from stopping the service (``while True: pass``,
``10**10**8``, ``'a' * 10**10``), so the compiled code carries budget guards of its own (see
"Limits of the sandbox" in docs/process-conventions.md):

- **time**: every loop step (``for``, ``while``, each step of a comprehension), every call of a
  function or lambda defined in the source and every guarded operation checks the evaluation's
  deadline (a script has ``SCRIPT_TIME_LIMIT_MS``, an expression ``EXPRESSION_TIME_LIMIT_MS``,
  all evaluations of one engine action together ``ENGINE_STEP_TIME_LIMIT_MS``);
- **size**: ``*``, ``**``, ``<<``, ``+``, ``%``-formatting, f-string widths, ``pow``, ``range``
  and the growing methods of str/bytes/list/int (``ljust``, ``replace``, ``join``, ``extend``,
  ``to_bytes``, …) refuse a result over a bound *before* computing it;
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

    __slots__ = ("deadline", "step", "kind", "seconds", "breach", "active", "bound_tick", "bound_getiter")

    def __init__(self, step: float = float("inf")) -> None:
        self.deadline, self.step, self.kind, self.seconds = 0.0, step, "expression", 0.0
        self.breach: SandboxLimitExceeded | None = None
        self.active = False
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


def _check_len(what: Any, size: int) -> None:
    limit, unit = _seq_limit(what)
    if size > limit:
        raise _size_breach(type(what).__name__, size, limit, unit)


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise _size_breach("int", bits, MAX_INT_BITS, _BITS)


def _repeat(seq: Any, times: Any) -> Any:
    n = operator.index(times)
    if n > 0:
        _check_len(seq, len(seq) * n)
    return seq * n


def _mul_(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            _check_bits(a.bit_length() + b.bit_length())
        return a * b
    if ta is float or tb is float:
        return a * b
    if isinstance(a, _SEQ):
        return _repeat(a, b)
    if isinstance(b, _SEQ):
        return _repeat(b, a)
    if isinstance(a, int) and isinstance(b, int):  # bool, int subclasses
        _check_bits(int(a).bit_length() + int(b).bit_length())
    return a * b


def _pow_(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
        _check_bits(int(a).bit_length() * int(b))
    return a ** b


def _guarded_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        return _pow_(base, exp)
    if isinstance(mod, int):
        _check_bits(int(mod).bit_length())
    return pow(base, exp, mod)


def _lshift_(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a and b > 0:
        _check_bits(int(a).bit_length() + int(b))
    return a << b


def _add_(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is int or ta is float:
        return a + b
    if isinstance(a, _SEQ) and isinstance(b, _SEQ):
        _check_len(a, len(a) + len(b))
    return a + b


_PERCENT = re.compile(rb"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_widths(widths: Iterable[bytes | str | None]) -> None:
    for w in widths:
        if not w:
            continue
        if w in ("*", b"*"):
            raise _breach("不允许使用 '*' 宽度", "'*' widths are not allowed in %-formatting")
        if len(w) > 6 or int(w) > MAX_WIDTH:
            raise _size_breach("format width", int(w) if len(w) < 20 else 10**19, MAX_WIDTH, _CHARS)


def _mod_(a: Any, b: Any) -> Any:
    if isinstance(a, (str, bytes)):
        raw = a.encode("utf-8", "surrogatepass") if isinstance(a, str) else a
        if b"%" in raw:
            for m in _PERCENT.finditer(raw):
                _check_widths(m.groups())
    return a % b


_SPEC_DIGITS = re.compile(r"\d+")


def _format_(value: Any, conversion: int, spec: str) -> str:
    """An f-string field with a format spec (``f'{x:>{n}}'``): widths are checked first."""
    if conversion == ord("r"):
        value = repr(value)
    elif conversion == ord("s"):
        value = str(value)
    elif conversion == ord("a"):
        value = ascii(value)
    _check_widths(_SPEC_DIGITS.findall(spec))
    return format(value, spec)


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
        _check_len(self, len(self) + len(iterable))  # type: ignore[arg-type]
    self.extend(iterable)


def _to_bytes(self: int, length: Any = 1, *args: Any, **kwargs: Any) -> bytes:
    _check_len(b"", operator.index(length))
    return self.to_bytes(length, *args, **kwargs)


_METHODS: dict[str, Callable[..., Any]] = {
    "ljust": partial(_width, name="ljust"), "rjust": partial(_width, name="rjust"),
    "center": partial(_width, name="center"), "zfill": partial(_width, name="zfill"),
    "replace": _replace, "expandtabs": _expandtabs, "translate": _translate, "join": _join,
}
_GUARDED_METHODS: dict[type, dict[str, Callable[..., Any]]] = {
    str: _METHODS, bytes: _METHODS, bytearray: _METHODS, list: {"extend": _extend}, int: {"to_bytes": _to_bytes},
}
_GUARDED_NAMES = frozenset(name for methods in _GUARDED_METHODS.values() for name in methods)


def _getattr_(obj: Any, name: str, default: Any = None) -> Any:
    """RestrictedPython's ``safer_getattr``, with the methods that grow a value guarded."""
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
    return obj[key]


_EXTRA_BUILTINS = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in ("min", "max", "sum", "any", "all", "len", "sorted", "enumerate", "dict", "list",
                 "set", "reversed", "map", "filter")
}
_GUARDED_BUILTINS = {
    **{name: _ticked(_EXTRA_BUILTINS[name]) for name in ("min", "max", "any", "all", "sorted")},
    "sum": _guarded_sum, "range": _guarded_range, "pow": _guarded_pow,
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
    "_format_": _format_,
}
_RESERVED = frozenset(BASE_GLOBALS) | {"__builtins__"}


# ---------------------------------------------------------------------------- compiling with guards

_BINOP_GUARDS = {ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Add: "_add_", ast.Mod: "_mod_"}


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

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = super().visit_FormattedValue(node)
        if node.format_spec is None:
            return node
        value = _call("_format_", node.value, ast.Constant(node.conversion), node.format_spec)
        return ast.copy_location(ast.FormattedValue(value=value, conversion=-1, format_spec=None), node)

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
        return len(value) + 2 if isinstance(value, (str, bytes)) else 8
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
            elif t is int or t is bool or t is float or item is None:
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
                budget.kind = "expression"  # for the message of a size guard
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
        finally:
            breach = _leave(saved)
        if breach is not None:
            raise breach
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
