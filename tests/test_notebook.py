"""docs/examples/preview.ipynb runs from top to bottom, and shows what it says it shows.

The notebook is stored without outputs; here it is executed with nbclient on a kernel that is
this interpreter (a kernelspec written to a temporary Jupyter path, pointing at
``sys.executable``), so it runs against the code under test and never goes stale.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat", reason="needs the docs extra")
nbclient = pytest.importorskip("nbclient", reason="needs the docs extra")
pytest.importorskip("ipykernel", reason="needs the docs extra")
pytest.importorskip("matplotlib", reason="needs the docs extra")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "examples" / "preview.ipynb"
KERNEL = "arthur-capture-tests"
TIMEOUT = 300  # seconds per cell


def _text(output: Any) -> str:
    if output.output_type == "stream":
        return str(output.text)
    return str(output.get("data", {}).get("text/plain", ""))


def test_notebook_is_stored_without_outputs() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code
    for number, cell in enumerate(code, start=1):
        assert cell["outputs"] == [], f"code cell {number} keeps outputs"
        assert cell["execution_count"] is None, f"code cell {number} keeps its execution count"
    for cell in notebook["cells"]:
        assert "../shared" not in "".join(cell["source"]), "the notebook reads fixtures/ only"


@pytest.mark.slow
def test_notebook_executes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kernels = tmp_path / "jupyter" / "kernels" / KERNEL
    kernels.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "arthur_capture tests",
        "language": "python",
    }
    (kernels / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the report is written under it

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=TIMEOUT,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()  # raises CellExecutionError on the first cell that fails

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    outputs = [output for cell in code for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "\n".join(_text(output) for output in outputs)
    assert "Traceback" not in text
    assert "Warning" not in text, text  # deprecations and plotting complaints included

    # The frame's rows are the ledger's records (the notebook asserts it too).
    rows = re.search(r"rows: (\d+), ledger records: (\d+)", text)
    assert rows is not None, text
    assert rows[1] == rows[2] == "16"
    # The DataFrame is shown as a table, the two plots as images.
    assert any(
        "text/html" in o.get("data", {}) and "<table" in o.data["text/html"] for o in outputs
    )
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
    # Validated against the schema: every inference mapped, the cut line rejected.
    assert "mapped rows: 16, rejected inferences: 0" in text
    assert "rejects by reason: {'invalid_json': 1}" in text
    # The report was written, self-contained, under this test's temporary folder.
    report = re.search(r"report: (\S+report\.html) \([\d,]+ bytes\), records: 16", text)
    assert report is not None, text
    page = Path(report[1])
    assert tmp_path in page.parents
    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
