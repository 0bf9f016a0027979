"""Safe parsing of the paper's anchor strings such as '[2**0, 2**0.70, 2**1.32]'."""

from __future__ import annotations

import ast
import math
import operator
from typing import Any

from ..errors import ConfigError

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
MAX_EXPONENT = 64
SHOWN_CHARS = 80


def shown(value: Any) -> str:
    """repr() cut to SHOWN_CHARS, for quoting a bad value in a one-line error."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 3]}..."


def _evaluate(node: ast.AST) -> Any:
    """Evaluate numbers, + - * / ** (in floats), lists and tuples; anything else is rejected."""
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_evaluate(item) for item in node.elts]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if not all(isinstance(v, (int, float)) for v in (left, right)):
            raise ValueError("arithmetic on lists")
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponent {right} is larger than {MAX_EXPONENT}")
        return _BINARY[type(node.op)](float(left), float(right))  # floats: no giant integers
    raise ValueError(f"{type(node).__name__} is not allowed")


def parse_numbers(value: Any, name: str) -> Any:
    """A list (or nested list) of floats from YAML: either real numbers or an expression string."""
    if isinstance(value, str):
        try:
            value = _evaluate(ast.parse(value.strip(), mode="eval").body)
        except (
            SyntaxError,
            ValueError,
            ZeroDivisionError,
            OverflowError,
            RecursionError,
            MemoryError,
        ) as exc:
            raise ConfigError(
                f"{name}: cannot read {shown(value)} ({exc}); write numbers, lists and "
                "+ - * / ** only, e.g. '[2**0, 2**0.70, 2**1.32]'"
            ) from None
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{name} must be a non-empty list, got {shown(value)}")
    try:
        numbers = [
            [_number(v) for v in item] if isinstance(item, (list, tuple)) else _number(item)
            for item in value
        ]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must hold finite numbers, got {shown(value)}") from None
    return numbers


def _number(value: Any) -> float:
    """A finite float from an int or float (bools, strings and NaN are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not finite")
    return number
