"""Copy pinned third-party front-end files from node_modules into static/vendor (see package.json)."""

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    mapping = json.loads((ROOT / "package.json").read_text())["aduanVendor"]
    for source, target in mapping.items():
        src = ROOT / "node_modules" / source
        if not src.is_file():
            print(f"missing {src}: run 'npm ci' first", file=sys.stderr)
            return 1
        dst = ROOT / "static" / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
    print(f"copied {len(mapping)} front-end file(s) into static/vendor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
