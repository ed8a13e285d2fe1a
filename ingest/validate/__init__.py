"""Validation (contract §3), one module per step; `run.validate(parsed_files, conn)` runs them.

- `frames.py`    every sheet kind stacked once per run, and the views the checks need;
- `suites.py`    the GX context and the suites of `expectations/` (every rule GX can state);
- `expect_column_values_to_be_whole_numbers.py`  the project's custom GX expectation;
- `rules.py`     the rule table: what GX cannot state (period in term, total row, history);
- `history.py`   the province history query and the outlier statistics;
- `placement.py` findings placed at (sheet, Excel row, column header, cell as written);
- `run.py`       the run: the steps in order, a crashed check as a system fault;
- `report.py`    the bilingual report a clerk reads (`finding_lines` for one finding).
"""
