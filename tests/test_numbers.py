"""Figures as offices write them (contract §2): the quick reading of the common forms ('1.284',
'11,54', '71%') gives what the full reading gives, and leaves every other text to it."""

import itertools
import random

import pytest

from ingest.read.numbers import Number, _parse_text, common_figure, parse_number


@pytest.mark.parametrize(("text", "value"), [
    ("1.284", 1284.0), ("1.284.000", 1284000.0), ("0.500", 500.0), ("11,54", 11.54),
    ("1.284,5", 1284.5), ("999,9", 999.9), ("9,999", 9.999), ("12", 12.0),
])
def test_the_common_forms_are_read_as_the_full_reading_reads_them(text, value):
    assert common_figure(text) == value == _parse_text(text).value
    assert parse_number(text) == Number(value) == _parse_text(text)
    assert parse_number(text + "%") == Number(value, percent=True) == _parse_text(text + "%")


@pytest.mark.parametrize("text", [
    "1,234,567", "1234,5", "1.23", "12.3456", "-1.284", "(1.284)", "1.284 ", " 11,5", "71%",
    "3.562/5.000", "1.284,", ",5", ".", "", "-", "x", "1 284", "١٢٣", "1.284\n", "1,2,3",
])
def test_other_texts_are_left_to_the_full_reading(text):
    assert common_figure(text) is None
    assert parse_number(text) == _parse_text(text)


def test_every_short_text_of_digits_and_separators_agrees_with_the_full_reading():
    """All texts of up to 6 characters over digits, '.' and ',' (and random longer ones): where
    the quick reading gives a value, it is the full reading's, never an error of it."""
    alphabet = "0159.,%"
    texts = ["".join(t) for n in range(1, 7) for t in itertools.product(alphabet, repeat=n)]
    rng = random.Random(7)
    texts += ["".join(rng.choice("0123456789.,%") for _ in range(rng.randint(7, 14)))
              for _ in range(20000)]
    read = 0
    for text in texts:
        assert parse_number(text) == _parse_text(text), text
        quick = common_figure(text)
        if quick is None:
            continue
        read += 1
        full = _parse_text(text)
        assert full.error is None and full.denominator is None and not full.percent, text
        assert quick == full.value, text
    assert read > 1000  # the comparison covered the forms the quick reading takes
