"""Money: ``Decimal`` dollars everywhere, integer nano-dollars in counters.

Redis evaluates Lua numbers as doubles, exact up to 2**53: in nano-dollars (1e-9 USD) that is
about nine million dollars per counter, and no float ever touches an amount.  Converting to
nanos rounds *up*, so a counter can only err on the side of spending budget, never of creating it.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal

NANOS_PER_DOLLAR = 10**9
_NANO = Decimal(1) / NANOS_PER_DOLLAR
#: the ledger stores whole pico-dollars (exact on SQLite too)
PICOS = Decimal(10) ** 12


#: the largest amount a counter takes in one step: Lua numbers are doubles, exact up to 2**53, and a
#: larger one reaches Redis's HINCRBY in exponent notation, which it refuses.  $9 million: more
#: than any budget, so a request clamped to it is still refused (or, when only tracked, counted
#: as the most a counter can say) instead of failing the script.
MAX_COUNTER_STEP = 2**53 - 1


def to_nanos(amount: Decimal) -> int:
    """Dollars to integer nano-dollars, rounded up."""
    return int((amount * NANOS_PER_DOLLAR).to_integral_value(rounding=ROUND_CEILING))


def counter_step(nanos: int) -> int:
    """An amount (nanos or tokens) as one counter step: never more than the scripts hold exactly."""
    return min(nanos, MAX_COUNTER_STEP)


def from_nanos(nanos: int) -> Decimal:
    """Integer nano-dollars to dollars, exactly."""
    return (Decimal(nanos) * _NANO).normalize() if nanos else Decimal(0)


def as_decimal(value: object, field: str) -> Decimal:
    """A configured amount as ``Decimal``: floats go through their shortest decimal spelling.

    Raises ``ValueError`` naming ``field`` for negative or non-numeric values.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{field} must be a number of dollars, not {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{field} must be a number of dollars, not {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"{field} must be a non-negative number of dollars, not {value!r}")
    return amount


def money_str(amount: Decimal) -> str:
    """A readable dollar amount for messages: no exponent, no trailing zeros."""
    text = format(amount.normalize(), "f")
    return text if text != "-0" else "0"


def to_picos(amount: Decimal) -> int:
    """Dollars to the ledger's integer pico-dollars (half-even: no bias over many rows)."""
    return int((amount * PICOS).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_picos(picos: int | None) -> Decimal:
    return (Decimal(picos) / PICOS).normalize() if picos else Decimal(0)
