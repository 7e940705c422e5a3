"""Writes kiln's Grafana dashboards as JSON into the Helm chart
(deploy/helm/kiln/files/dashboards/), which ships them as ConfigMaps for
Grafana's dashboard sidecar.

    python deploy/monitoring/dashboards/generate.py           # write
    python deploy/monitoring/dashboards/generate.py --check   # exit 1 if the committed JSON differs

Needs the PyPI package grafana-foundation-sdk (tests/compat/requirements.txt).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import features  # noqa: E402
import platform_overview  # noqa: E402
import resources  # noqa: E402
import serving  # noqa: E402
import tracking  # noqa: E402
from kiln_panels import to_json  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "helm" / "kiln" / "files" / "dashboards"
DASHBOARDS = {
    "platform-overview": platform_overview.build,
    "tracking": tracking.build,
    "serving": serving.build,
    "features": features.build,
    "resources": resources.build,
}


def render() -> dict[str, str]:
    return {f"{name}.json": to_json(build()) for name, build in DASHBOARDS.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the files instead of writing them")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    stale = []
    for name, text in render().items():
        path = args.out / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("out of date (run deploy/monitoring/dashboards/generate.py):\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
