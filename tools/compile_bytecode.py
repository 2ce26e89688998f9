"""Write the bytecode caches (``__pycache__/*.pyc``) of the project's virtual environments once, at ``make setup``.

Machines that set ``PYTHONDONTWRITEBYTECODE=1`` (common in container images) never cache bytecode, so every Python
process compiles what it imports from source again: 1.4 s more to start the CLI with boto3, moto and typer, 1.9 s
more to import the AWS bindings for a synthesis, 1 s more for checkov (measured on the 2-core machine). Reading
caches stays allowed there; only writing them is off. So this compiles, with the standard library's compileall:

- the project venv's site-packages at both optimisation levels (tests run at 0, ``eventform synth`` at ``-O``),
  except the 1,500 modules of ``cdktn_provider_aws`` of which the constructs in ``modules/`` use a few dozen: those
  are found by reading the imports of ``modules/`` and ``eventform/``;
- checkov's venv at level 0.

Up-to-date caches are skipped, so a second run takes a second. Usage: ``python tools/compile_bytecode.py VENV
[SCAN_VENV]`` (run by the venv's own Python, which decides the cache file names).
"""

from __future__ import annotations

import compileall
import os
import re
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINDINGS = "cdktn_provider_aws"
USED_BINDING = re.compile(rf"{BINDINGS}\.([a-z0-9_]+)")


def used_bindings() -> list[str]:
    """The ``cdktn_provider_aws`` submodules the project's code imports."""
    found = {
        m
        for top in ("modules", "eventform")
        for p in (ROOT / top).rglob("*.py")
        for m in USED_BINDING.findall(p.read_text())
    }
    return sorted(found)


def site_packages(venv: Path) -> Path:
    relative = Path(sysconfig.get_path("purelib")).relative_to(sys.prefix)  # lib/python3.X/site-packages
    return venv / relative


def compile_venv(site: Path, levels: list[int], bindings: list[str]) -> bool:
    every_other = compileall.compile_dir(site, quiet=1, workers=0, optimize=levels, rx=re.compile(rf"/{BINDINGS}/"))
    provider = site / BINDINGS
    ok = every_other
    if provider.is_dir():
        ok &= bool(compileall.compile_file(provider / "__init__.py", quiet=1, optimize=levels))
        for name in ["_jsii", *bindings]:
            if (provider / name).is_dir():
                ok &= bool(compileall.compile_dir(provider / name, quiet=1, workers=0, optimize=levels))
    return ok


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    os.environ["PYTHONWARNINGS"] = "ignore::SyntaxWarning"  # old escapes in some packages' own tests: not ours to fix
    started = time.perf_counter()
    ok = compile_venv(site_packages(Path(sys.argv[1])), [0, 1], used_bindings())
    for scan_venv in sys.argv[2:]:
        ok &= compile_venv(site_packages(Path(scan_venv)), [0], [])
    print(f"bytecode caches written in {time.perf_counter() - started:.1f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
