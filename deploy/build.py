# ruff: noqa: INP001  (a script beside the templates, not a package)
"""Build the Lambda function's zip: ``python3 deploy/build.py`` makes the function's zip.

The zip is dist/arthur-capture-lambda.zip (deploy/template*.yaml's CodeUri); ``python3 dev.py
lambda-zip`` runs this script in the project's environment.

The zip holds arthur-capture with its ``arthur`` extra (httpx, tenacity), its core (pydantic,
orjson) and aws-lambda-powertools, as wheels for the Lambda runtime (CPython 3.12, x86_64,
manylinux2014) whatever machine builds it: ``pip install --target --platform --only-binary``.

Left out on purpose: boto3, botocore, s3transfer, urllib3, python-dateutil and six. The Lambda
Python runtime ships them (and AWS keeps them patched); nothing in the zip requires them as a
wheel dependency, and any that slips in is removed. Also left out: rich and what it brings
(pygments, markdown-it-py, mdurl), which only the command line imports. Kept: jmespath.
Powertools requires it, and although the runtime's boto3 brings a copy, that copy is an
implementation detail of the runtime: the zip carries its own (about 100 kB; botocore works
with it too).

``--engine`` adds the ``parquet`` extra (pyarrow) for ``ARTHUR_CAPTURE_SINK=engine``; pyarrow
makes the zip far larger (see the closing note of the build), so it is opt-in.

``--python-version`` and ``--platform`` let the tests build a zip for the machine they run on.
The zip is reproducible: entries sorted, fixed timestamps and permissions, no ``__pycache__``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "dist" / "arthur-capture-lambda.zip"

# What the Lambda Python runtime already has (boto3 and its own dependencies).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six")
# What only the command line uses (its tables and progress): the handler never imports it.
COMMAND_LINE_ONLY = ("rich", "pygments", "markdown_it", "markdown_it_py", "mdurl")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def lambda_requirements() -> list[str]:
    """The third-party part of the ``lambda`` extra (powertools), read from pyproject.toml.

    Its ``arthur-capture[...]`` parts are left to the caller: the ``aws`` extra would bring
    boto3, which the runtime provides.
    """
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lambda_extra: list[str] = project["optional-dependencies"]["lambda"]
    return [req for req in lambda_extra if not req.startswith("arthur-capture")]


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    subprocess.run(command, check=True, cwd=ROOT)  # noqa: S603 - our own interpreter, fixed args


def _is_runtime_provided(path: Path) -> bool:
    name = path.name.lower()
    for module in (*RUNTIME_PROVIDED, *COMMAND_LINE_ONLY):
        if name == module or name.startswith((f"{module}-", f"python_{module}-")):
            return True
    return False


def _prune(build: Path) -> list[str]:
    """Remove what the runtime has or only the CLI uses, byte-code caches, console scripts."""
    removed = []
    for path in sorted(build.iterdir()):
        if _is_runtime_provided(path):
            removed.append(path.name)
        if _is_runtime_provided(path) or path.name == "bin":  # bin: console scripts
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for cache in sorted(build.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache)
    for compiled in build.rglob("*.py[co]"):
        compiled.unlink()
    return removed


def _zip(build: Path, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(p for p in build.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(build).as_posix(), date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16  # a regular file, readable by the runtime's user
            archive.writestr(info, path.read_bytes())
    partial.replace(out)


def build(
    out: Path = DEFAULT_OUT,
    *,
    python_version: str = "3.12",
    platform: str = "manylinux2014_x86_64",
    engine: bool = False,
    quiet: bool = False,
) -> Path:
    """Build the zip at ``out`` and return its path."""
    extras = ["arthur", "parquet"] if engine else ["arthur"]
    with tempfile.TemporaryDirectory(prefix="arthur-capture-lambda-") as scratch:
        wheels = Path(scratch) / "wheels"
        target = Path(scratch) / "build"
        quiet_flag = ["--quiet"] if quiet else []
        _pip("wheel", *quiet_flag, "--no-deps", "--wheel-dir", str(wheels), str(ROOT))
        (wheel,) = wheels.glob("arthur_capture-*.whl")
        _pip(
            "install",
            *quiet_flag,
            "--no-compile",
            "--target",
            str(target),
            "--platform",
            platform,
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--only-binary=:all:",
            f"arthur-capture[{','.join(extras)}] @ {wheel.as_uri()}",
            *lambda_requirements(),
        )
        removed = _prune(target)
        if removed and not quiet:
            print(f"build.py: left out (the runtime has them): {', '.join(removed)}")
        _zip(target, out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python3 deploy/build.py [--out ZIP] [--engine] [--python-version X.Y]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the zip (%(default)s)")
    parser.add_argument("--python-version", default="3.12", help="target CPython (%(default)s)")
    parser.add_argument("--platform", default="manylinux2014_x86_64", help="(%(default)s)")
    parser.add_argument("--engine", action="store_true", help="add pyarrow for the engine sink")
    parser.add_argument("--quiet", action="store_true", help="print only the result")
    args = parser.parse_args(argv)
    out = build(
        args.out,
        python_version=args.python_version,
        platform=args.platform,
        engine=args.engine,
        quiet=args.quiet,
    )
    size = out.stat().st_size
    with zipfile.ZipFile(out) as archive:
        unzipped = sum(info.file_size for info in archive.infolist())
    print(
        f"{out}: {size} bytes ({size / 1e6:.1f} MB) zipped, {unzipped / 1e6:.1f} MB unzipped"
        " (Lambda's limits: 50 MB zipped for a direct upload, 250 MB unzipped)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
