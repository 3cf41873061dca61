import pytest

from mylib.pricing import bulk_price, discount


def test_discount():
    assert discount(100.0, 15) == 85.0


def test_discount_rejects_negative_percent():
    with pytest.raises(ValueError):
        discount(10.0, -1)


@pytest.mark.parametrize("quantity, expected", [(0, 0.0), (1, 2.0), (10, 18.0)])
def test_bulk_price(quantity, expected):
    assert bulk_price(2.0, quantity) == expected
