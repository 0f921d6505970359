"""Restricted evaluation of every script and expression found in BPMN and DMN.

Uploaded process files are untrusted. Scripts, gateway conditions, DMN cells and timer
expressions run through RestrictedPython: no imports, no ``open``, no dunder attributes, no
``getattr`` tricks. Compiled code objects are cached by source text, so a condition costs one
dictionary look-up plus its evaluation.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from functools import lru_cache
from types import CodeType, MappingProxyType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "|=": operator.ior, "&=": operator.iand,
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    try:
        return _INPLACE[op](x, y)
    except KeyError:
        raise SyntaxError(f"operator {op} is not allowed in process scripts") from None


def _safe_getitem(obj: Any, key: Any) -> Any:
    if isinstance(key, str) and key.startswith("_"):
        raise KeyError(f"names starting with '_' are not accessible: {key!r}")
    return obj[key]


_EXTRA_BUILTINS = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in ("min", "max", "sum", "any", "all", "len", "sorted", "enumerate", "dict", "list",
                 "set", "reversed", "map", "filter")
}

BASE_GLOBALS: dict[str, Any] = {
    "__builtins__": {**safe_builtins, **_EXTRA_BUILTINS},
    "_getattr_": safer_getattr,
    "_getitem_": _safe_getitem,
    "_getiter_": default_guarded_getiter,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplacevar,
}
_RESERVED = frozenset(BASE_GLOBALS) | {"__builtins__"}


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    """Compile an expression under RestrictedPython; errors surface as SyntaxError with a line."""
    result = compile_restricted_eval(source.strip(), "<expression>")
    if result.errors or result.code is None:
        raise SyntaxError("; ".join(result.errors) or "invalid expression", ("<expression>", 1, 0, source))
    return result.code


@lru_cache(maxsize=4096)
def compile_script(source: str) -> CodeType:
    result = compile_restricted_exec(source, "<string>")
    if result.errors or result.code is None:
        message = "; ".join(result.errors) or "invalid script"
        line = _first_line_number(result.errors)
        raise SyntaxError(message, ("<string>", line, 0, source))
    return result.code


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


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Runs expressions and scripts against task data under RestrictedPython.

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
        code = compile_expression(expression)
        return eval(code, self._globals(context, external_context))  # noqa: S307 - restricted code

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        code = compile_script(script)
        clash = (set(self.helpers) | set(external_context or {})) & set(context)
        if clash:
            raise ValueError(f"task data overwrites predefined function(s): {', '.join(sorted(clash))}")
        g = self._globals(context, external_context)
        exec(code, g)  # noqa: S102 - restricted code
        for key, value in g.items():
            if key in _RESERVED or key in self.helpers or (external_context and key in external_context):
                continue
            if key.startswith("_") or callable(value):
                continue
            context[key] = value
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise PermissionError("service tasks are not enabled in Tongguan processes")


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
