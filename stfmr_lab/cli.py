"""The ``stfmr-lab`` command line (thin: every command calls the package's Python API).

Exit status: 0 success, 2 bad input (one-line reason, no traceback), 1 anything else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


class BadInput(Exception):
    """An input the user can fix (config, value, path): reported in one line, exit 2."""


def _cmd_demo(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from stfmr_lab.physics import DeviceModel

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = DeviceModel.preset("paper")
    f = np.linspace(7.6e9, 9.6e9, 401)
    fig, ax = plt.subplots(figsize=(6, 4))
    for i_a in (-1e-4, 0.0, 1e-4):
        v = model.voltage(model.theta(1000.0), i_a)
        ax.plot(f / 1e9, 1e3 * model.vmix(f, 1000.0, i_a, -10.0), label=f"I = {i_a * 1e3:+.2f} mA (V = {v:+.2f} V)")
    ax.set_xlabel("frequency (GHz)")
    ax.set_ylabel("Vmix (mV)")
    ax.set_title("paper-preset junction, H = 1 kOe, -10 dBm")
    ax.legend()
    fig.tight_layout()
    path = out / "spectra.png"
    fig.savefig(path, dpi=120)
    print(f"figure: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stfmr-lab", description="ST-FMR bench software")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the paper map on the simulated bench and analyse it")
    d.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    d.set_defaults(func=_cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: 2 for usage errors
        return int(e.code or 0)
    try:
        return args.func(args)
    except BadInput as e:
        print(f"stfmr-lab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stfmr-lab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
