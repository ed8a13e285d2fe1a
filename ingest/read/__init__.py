"""Read: files into cell grids, then into typed rows (the workbook layout of contract §2), each
file parsed in a worker process with limits (`parse`)."""
