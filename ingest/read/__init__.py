"""Read: files into cell grids, then into typed rows (the workbook layout of contract §2)."""
