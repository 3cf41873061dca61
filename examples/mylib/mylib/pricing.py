"""Prices with discounts: small functions with branches worth testing."""

from __future__ import annotations


def discount(price: float, percent: float) -> float:
    """The price after a percentage discount, never below zero.

    >>> discount(100.0, 15)
    85.0
    """
    if percent < 0 or percent > 100:
        raise ValueError("percent must be between 0 and 100")
    return round(max(price * (1 - percent / 100), 0.0), 2)


def bulk_price(unit: float, quantity: int) -> float:
    """Ten or more items cost 10 % less each."""
    if quantity <= 0:
        return 0.0
    total = unit * quantity
    return discount(total, 10) if quantity >= 10 else total
