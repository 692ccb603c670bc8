"""A real series read at run time, and a chronological train / validation / test split.

`mauna_loa_co2` reads the Mauna Loa CO₂ record that ships inside statsmodels
(``statsmodels.datasets.co2``: weekly means of continuous air samples, March 1958 to
December 2001, in ppm; public domain) and turns it into monthly means:

    x_m = mean of the weekly values that fall in month m

Months whose weeks are all missing are filled by linear interpolation between their
neighbours. Nothing is copied into this repository, and statsmodels is imported only
when the series is asked for.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstm_ref.tasks._common import require_at_least


class MonthlySeries(NamedTuple):
    """A monthly series and where it came from."""

    values: np.ndarray  # (L,) float64, one value per month
    months: list[str]  # (L,) "YYYY-MM"
    weeks: int  # weekly rows in the source, missing ones included
    missing_weeks: int  # of those, the rows without a value
    filled_months: int  # months without any weekly value, filled by interpolation


def mauna_loa_co2() -> MonthlySeries:
    """Monthly mean CO₂ at Mauna Loa in ppm, from statsmodels' weekly record.

    Example:
        >>> co2 = mauna_loa_co2()
        >>> co2.months[0], co2.months[-1], len(co2.values)
        ('1958-03', '2001-12', 526)
    """
    from statsmodels.datasets import co2  # a dependency of the chapter, not of lstm_ref

    weekly = co2.load_pandas().data["co2"]  # indexed by date, NaN where missing
    monthly = weekly.resample("MS").mean()  # MS: one row per month, dated its first day
    filled = monthly.interpolate("linear")
    return MonthlySeries(
        values=filled.to_numpy(dtype=np.float64),
        months=[f"{d.year}-{d.month:02d}" for d in filled.index],
        weeks=len(weekly),
        missing_weeks=int(weekly.isna().sum()),
        filled_months=int(monthly.isna().sum()),
    )


class Split(NamedTuple):
    """Three consecutive stretches of a series, in time order."""

    train: slice
    validation: slice
    test: slice


def chronological_split(length: int, *, validation: int, test: int) -> Split:
    """Cut steps 0 … length-1 into train, then validation, then test, in that order.

    The last `test` steps are the test set, the `validation` steps before them the
    validation set, and everything earlier the training set: no step is in two sets
    and every training step comes before every step that is scored.

    Example:
        >>> chronological_split(10, validation=2, test=3)
        Split(train=slice(0, 5, None), validation=slice(5, 7, None), test=slice(7, 10, None))
    """
    require_at_least("validation", validation, 1)
    require_at_least("test", test, 1)
    train_end = length - validation - test
    if train_end < 1:
        raise ValueError(f"expected length > validation + test = {validation + test}, got {length}")
    return Split(slice(0, train_end), slice(train_end, length - test), slice(length - test, length))
