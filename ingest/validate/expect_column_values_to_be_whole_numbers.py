"""`expect_column_values_to_be_whole_numbers`: a count must be a whole number (contract §3).

GX has no built-in expectation for it. A custom Column Map Expectation in GX 1.x is a metric
provider (the yes/no question asked of every row) and an expectation class naming that metric;
defining the classes registers both with GX, under the snake-cased class name the suites in
`expectations/` use. Importing this module is what registers them: `suites.py` imports it
before it builds the context (lazily, like every GX import).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics import (
    ColumnMapMetricProvider,
    column_condition_partial,
)


class ColumnValuesWholeNumber(ColumnMapMetricProvider):
    """Each non-null value is a whole number (nulls are left out by the map metric)."""

    condition_metric_name = "column_values.whole_number"

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column, **kwargs):
        values = column.astype("float64")
        return np.isclose(values, values.round(), rtol=0, atol=1e-9)


class ExpectColumnValuesToBeWholeNumbers(ColumnMapExpectation):
    """Expect each non-null value of the column to be a whole number (a count)."""

    map_metric: ClassVar[str] = ColumnValuesWholeNumber.condition_metric_name
    success_keys: ClassVar[tuple[str, ...]] = ("mostly",)
    args_keys: ClassVar[tuple[str, ...]] = ("column",)
