"""Which cells LibreOffice finds invalid by the workbook's own data validation.

Run with the Python that has LibreOffice's `uno` bridge (Debian: /usr/bin/python3 with
python3-uno), not the project's virtualenv: `python3 libreoffice_invalid_cells.py book.xlsx`.
Prints {sheet: [cell, ...]} as JSON. It uses Calc's "Mark invalid data" (XSheetAuditing
.showInvalid), which circles each invalid cell with a shape anchored to it.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import uno
from com.sun.star.beans import PropertyValue


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def main(path: str) -> None:
    profile = tempfile.mkdtemp(prefix="lhpn-lo-")
    pipe = f"lhpn{os.getpid()}"
    office = subprocess.Popen(
        ["soffice", "--headless", "--invisible", "--norestore",
         f"-env:UserInstallation=file://{profile}", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        for _ in range(300):
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.2)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        hidden = PropertyValue()
        hidden.Name, hidden.Value = "Hidden", True
        doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.path.abspath(path)),
                                           "_blank", 0, (hidden,))
        found = {}
        for sheet in doc.Sheets:
            sheet.showInvalid()
            shapes = sheet.DrawPage
            cells = []
            for i in range(shapes.Count):
                address = shapes.getByIndex(i).Anchor.CellAddress
                cells.append(f"{_column_letters(address.Column)}{address.Row + 1}")
            found[sheet.Name] = sorted(cells)
        doc.close(True)
        print(json.dumps(found))
    finally:
        office.terminate()
        office.wait(timeout=60)


if __name__ == "__main__":
    main(sys.argv[1])
