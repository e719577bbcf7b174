"""Arithmetic for the calculator tool, read as a syntax tree and worked out node by node: never ``eval``.

Only numbers, ``+ - * / // % **`` (and ``^`` for powers, as calculators write it), brackets, a few constants and
the ``math`` functions named in ``FUNCTIONS`` are understood; anything else (names, attributes, strings, lambdas...)
is refused with a sentence saying what. Sizes are bounded so that ``9**9**9`` or ``factorial(10**6)`` cannot tie
up the computer: exponents, factorials and results have limits.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

MAX_EXPRESSION_CHARS = 500
MAX_INT_BITS = 4096
MAX_EXPONENT = 10_000
MAX_FACTORIAL = 1000
MAX_DEPTH = 50

Number = int | float


class CalculationError(ValueError):
    """The expression cannot be worked out; the message says why, in words."""


def _factorial(value: Number) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise CalculationError("factorial needs a whole number.")
        value = int(value)
    if value < 0 or value > MAX_FACTORIAL:
        raise CalculationError(f"factorial works here for whole numbers from 0 to {MAX_FACTORIAL}.")
    return math.factorial(value)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt, "cbrt": lambda x: math.copysign(abs(x) ** (1 / 3), x), "exp": math.exp,
    "log": math.log, "ln": math.log, "log10": math.log10, "log2": math.log2,
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "atan2": math.atan2, "sinh": math.sinh, "cosh": math.cosh, "tanh": math.tanh,
    "degrees": math.degrees, "radians": math.radians, "hypot": math.hypot,
    "abs": abs, "round": round, "floor": math.floor, "ceil": math.ceil, "trunc": math.trunc,
    "min": min, "max": max, "factorial": _factorial, "gcd": math.gcd, "lcm": math.lcm,
}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}


def _power(base: Number, exponent: Number) -> Number:
    if abs(exponent) > MAX_EXPONENT:
        raise CalculationError(f"The exponent {exponent:g} is too large (at most {MAX_EXPONENT:,}).")
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and \
            (base.bit_length() - 1) * exponent > MAX_INT_BITS:
        raise _too_large()
    return operator.pow(base, exponent)


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: _power, ast.BitXor: _power,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}


def _check_size(value: Any) -> Number:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CalculationError("The result is not a number.")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _too_large()
    return value


def _too_large() -> CalculationError:
    return CalculationError(f"The result is too large (more than {int(MAX_INT_BITS * math.log10(2)):,} digits).")


def _evaluate(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise CalculationError("The expression is nested too deeply.")
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, depth + 1)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise CalculationError(f"{node.value!r} is not a number.")
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left, depth + 1), _evaluate(node.right, depth + 1)
        try:
            return _check_size(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise CalculationError("Division by zero.") from None
        except OverflowError:
            raise _too_large() from None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check_size(_UNARY[type(node.op)](_evaluate(node.operand, depth + 1)))
    if isinstance(node, ast.Name):
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise CalculationError(f"Unknown name {node.id!r}; constants are {', '.join(CONSTANTS)}.")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise CalculationError(f"Unknown function; the calculator knows {', '.join(sorted(FUNCTIONS))}.")
        if node.keywords or len(node.args) > 8:
            raise CalculationError(f"{node.func.id} takes at most a few plain numbers.")
        args = [_evaluate(arg, depth + 1) for arg in node.args]
        try:
            return _check_size(FUNCTIONS[node.func.id](*args))
        except CalculationError:
            raise
        except (ValueError, TypeError, OverflowError, ZeroDivisionError) as exc:
            raise CalculationError(f"{node.func.id}{tuple(args)!r}: {exc}.") from None
    raise CalculationError(f"The calculator does not understand '{ast.unparse(node)[:60]}'.")


def calculate(expression: str) -> Number:
    """The value of ``expression``, e.g. ``"(2 + 3) * sqrt(16) / 2^3"``.

    Raises:
        CalculationError: not an arithmetic expression, too long, or its value cannot be worked out.
    """
    text = expression.strip().replace("×", "*").replace("÷", "/").replace("−", "-")
    if not text:
        raise CalculationError("The expression is empty.")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculationError(f"The expression is longer than {MAX_EXPRESSION_CHARS} characters.")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):
        raise CalculationError(f"'{expression[:80]}' is not an arithmetic expression.") from None
    return _evaluate(tree, 0)


def format_number(value: Number) -> str:
    """A result as people write it: whole numbers exactly, others to 15 significant digits."""
    if isinstance(value, int):
        return str(value)
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15g")
