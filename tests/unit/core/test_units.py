"""One size convention: decimal units with three significant digits, as the Hub and file managers show sizes."""

from __future__ import annotations

import pytest

from hearth.core.units import GB, MB, GiB, format_progress, format_rate, format_size


@pytest.mark.parametrize(("n", "words"), [
    (0, "0 bytes"), (1, "1 byte"), (812, "812 bytes"), (999, "999 bytes"), (1000, "1.00 kB"), (9_770, "9.77 kB"),
    (14_200, "14.2 kB"), (999_400, "999 kB"), (999_600, "1.00 MB"), (3_240_000, "3.24 MB"),
    (65_600_000_000, "65.6 GB"), (99_960_000_000, "100 GB"), (115_700_000_000, "116 GB"), (1.5e12, "1.50 TB"),
    (2.5e15, "2,500 TB"), (None, "unknown"), (-2_000_000, "-2.00 MB"),
])
def test_sizes_in_words(n: float | None, words: str) -> None:
    assert format_size(n) == words


def test_the_constants_are_decimal_and_binary_ones_are_named_so() -> None:
    assert (MB, GB, GiB) == (10**6, 10**9, 2**30)
    assert format_size(GiB) == "1.07 GB", "a binary gigabyte is shown in decimal units, like every other size"


def test_rates_and_progress_use_the_same_words() -> None:
    assert format_rate(12_345_678) == "12.3 MB/s"
    assert format_progress(7_930_000_000, 65_600_000_000) == "7.93 GB of 65.6 GB"
