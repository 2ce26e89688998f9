"""Digest of a synthesized tree, to prove that a change of code layout leaves the generated Terraform unchanged.

    .venv/bin/python scripts/synth_digest.py [cdktf.out] [--mask-packages]

Prints one SHA-256 per stack (its ``cdk.tf.json``) and one for the whole tree. ``--mask-packages`` replaces what
depends only on a Lambda zip's bytes (the asset path, ``source_code_hash``) by a placeholder and digests each zip by
its file names and contents instead, so moving the handler runtime inside the zip shows as a changed zip listing,
never as a changed resource.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import zipfile
from pathlib import Path

ASSET = re.compile(r"assets/[^\"]+\.zip")
HASH = re.compile(r'"source_code_hash": "[^"]+"')


def stack_digest(stack: Path, mask: bool) -> str:
    text = (stack / "cdk.tf.json").read_text(encoding="utf-8")
    if mask:
        text = HASH.sub('"source_code_hash": "<zip>"', ASSET.sub("assets/<zip>", text))
    return hashlib.sha256(text.encode()).hexdigest()


def zip_listing(path: Path) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        return sorted(archive.namelist())


def main(argv: list[str]) -> int:
    mask = "--mask-packages" in argv
    folder = Path(next((a for a in argv if not a.startswith("--")), "cdktf.out"))
    stacks = sorted(p.parent for p in folder.glob("stacks/*/cdk.tf.json"))
    if not stacks:
        print(f"no stacks under {folder}/stacks: run `eventform synth` first", file=sys.stderr)
        return 2
    total = hashlib.sha256()
    for stack in stacks:
        digest = stack_digest(stack, mask)
        total.update(f"{stack.name}:{digest}\n".encode())
        print(f"{digest}  {stack.name}")
    if mask:
        zips = sorted(folder.glob("stacks/*/assets/**/*.zip"))
        listings = {path.name.rsplit("-", 1)[0]: zip_listing(path) for path in zips}
        print(json.dumps(listings, indent=1, sort_keys=True))
    print(f"{total.hexdigest()}  all {len(stacks)} stacks{' (packages masked)' if mask else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
