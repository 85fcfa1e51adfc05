"""The ``stfmr-lab`` command line (thin: every command calls the package's Python API).

Exit status: 0 success, 2 bad input (one-line reason, no traceback), 3 the run ended but its
safe state (bias 0, RF off) could not be verified, 130 Ctrl-C, 1 anything else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stfmr_lab.errors import one_line
from stfmr_lab.schema import ConfigError


def _say(text: str) -> None:
    print(text, flush=True)


def _cmd_run(args) -> int:
    return _run_prepared(args)  # the run file's path is said once, when it is created


def _cmd_models(args) -> int:
    from stfmr_lab.station import model_descriptions

    for role, models in model_descriptions().items():
        _say(f"{role}:")
        for model, desc in models:
            _say(f"  {model:16s} {desc}")
    return 0


def _cmd_station_template(args) -> int:
    from stfmr_lab.station import station_template

    text = station_template()
    if args.file is None:
        sys.stdout.write(text)
        return 0
    p = Path(args.file)
    try:
        with open(p, "x", encoding="utf-8") as f:  # never overwrites
            f.write(text)
    except FileExistsError:
        raise BadInput(f"station-template: {p} exists (files are never overwritten)") from None
    except OSError as e:
        raise BadInput(f"station-template: cannot write {p} ({e.strerror})") from None
    _say(f"station file: {p} (edit the addresses, then: stfmr-lab check {p})")
    return 0


def _cmd_check(args) -> int:
    from stfmr_lab.station import load_station, load_yaml, open_station

    cfg = load_station(args.station)
    if args.simulation and not args.sim:
        raise ConfigError("check --simulation: only with --sim")
    simulation = load_yaml(args.simulation, "simulation file") if args.simulation else {}
    st = open_station(cfg, sim=args.sim, strict=False, simulation=simulation)
    if args.deep:
        return _check_deep(st, args)
    try:
        ids = st.identify()
    finally:
        st.close()
    bad = 0
    for role, inst in cfg["instruments"].items():
        ident = ids.get(role, "")
        ok = not ident.startswith(("NO ANSWER", "NOT OPEN"))
        bad += not ok
        line = f"{'ok ' if ok else 'BAD'} {role:14s} {inst['model']:15s} {inst['address']:22s} {ident}"
        if "serial" in inst:  # a serial line that does not answer is most often set to another rate
            s = inst["serial"]
            line += f"  [serial: {s['baud_rate']} baud, {s['data_bits']}{s['parity'][0].upper()}{s['stop_bits']:g}]"
        _say(line)
    where = " (simulated)" if args.sim else f" (VISA backend {cfg['visa_library']})"
    _say(f"{len(cfg['instruments']) - bad} of {len(cfg['instruments'])} instruments answer{where}")
    return 0 if bad == 0 else 1


def _check_deep(st, args) -> int:
    """``check --deep``: every role's configuration commands, each instrument's errors read
    after each one (RF off, outputs off, zero current); 0 when every command was accepted."""
    from stfmr_lab.bringup import deep_check, format_report

    try:
        reports = deep_check(st)
    finally:
        st.close()
    for line in format_report(reports):
        _say(line)
    good = sum(r.ok for r in reports)
    _say(f"{good} of {len(reports)} instruments took every configuration command" + (" (simulated)" if args.sim else ""))
    return 0 if good == len(reports) else 1


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _cmd_analyze(args) -> int:
    paths = _analyze(args.file, Path(args.report) if args.report else None, ms_vol_emu=args.ms_vol_emu)
    for label, p in paths.items():
        _say(f"{label}: {p}")
    return 0


def _analyze(path, report: Path | None, **kwargs) -> dict:
    """Analyse a run file into a new report folder (an earlier report is never overwritten).

    Bad input (no such file, not a run file, a file the analysis cannot use, a folder that
    cannot be written) raises ``BadInput`` (one line, exit status 2)."""
    from stfmr_lab.analysis.pipeline import AnalysisError
    from stfmr_lab.analysis.report import write_report
    from stfmr_lab.storage import make_report_folder, read_run

    p = Path(path)
    try:
        read_run(p)  # the file's own checks first: one line for a missing, empty, text or truncated file
    except (OSError, ValueError) as e:
        raise BadInput(f"analyze {p}: {one_line(e)}") from None
    wanted = report or p.with_name(p.stem + "_report")
    out = make_report_folder(wanted)
    if out != wanted:
        _say(f"{wanted} exists: writing the report to {out} (reports are never overwritten)")
    from stfmr_lab.analysis import analyze

    try:
        a = analyze(p, **kwargs)  # ms_vol_emu
    except (AnalysisError, OSError, ValueError) as e:
        _remove_if_empty(out)
        raise BadInput(f"analyze {p}: {one_line(e)}") from None
    return write_report(a, out)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


class BadInput(ValueError):
    """Input the command cannot use (one line, exit status 2)."""


def _cmd_demo(args) -> int:
    from stfmr_lab.config import load_run_config, packaged_example

    out_dir = Path(args.out)
    cfg_path = packaged_example("quick_map.yaml" if args.quick else "paper_map.yaml")
    rc = load_run_config(cfg_path, sim=True)
    ns = argparse.Namespace(config=rc, sim=True, out=str(out_dir / f"{rc.name}.h5"), resume=None)
    code = _run_prepared(ns)
    if code != 0:
        return code
    paths = _analyze(ns.result, out_dir / "report")
    _say("")
    _say(paths["summary"].read_text(encoding="utf-8").rstrip())
    _say("")
    _say("outputs:")
    _say(f"  run file: {ns.result}")
    from stfmr_lab.runlog import log_path

    _say(f"  event log: {log_path(ns.result)}")
    for label, p in paths.items():
        _say(f"  {label}: {p}")
    return 0


def _run_prepared(ns) -> int:
    """Validate, say what will run and for how long, run with progress; ``ns.result`` = path."""
    from stfmr_lab.runner import (
        RunAborted,
        RunFailed,
        SafeStateUnverified,
        estimate_bench_time_s,
        fmt_duration,
        prepare,
        run,
    )

    dry = getattr(ns, "dry_run", False)
    rc, out = prepare(ns.config, sim=ns.sim, out=ns.out, create_folder=not dry)
    if not dry and not sys.stdin.isatty():  # nobody at a terminal to turn the magnet: refuse before anything opens
        from stfmr_lab.operator_steps import operator_refusal, operator_steps_needed

        key = operator_steps_needed(rc, ns.sim)
        if key is not None:
            raise ConfigError(operator_refusal(key))
    where = "the simulated bench (virtual clock)" if ns.sim else "the bench"
    _say(
        f"{rc.name}: {len(rc.plan.spectra)} spectra + {len(rc.plan.iv_sweeps)} I-V sweeps, {rc.plan.points} points; "
        f"expected bench time {fmt_duration(estimate_bench_time_s(rc))} on {where}"
    )
    if dry:
        from stfmr_lab.dryrun import dry_run_report

        for line in dry_run_report(rc, out if not ns.resume else Path(ns.resume)):
            _say(line)
        _say("dry run: the config is valid; nothing was opened, nothing written")
        return 0
    stop, confirm = None, None
    if sys.stdin.isatty():  # someone at the terminal can turn the magnet when asked
        import threading

        from stfmr_lab.operator_steps import TerminalOperator

        stop = threading.Event()
        confirm = TerminalOperator(stop_event=stop)
    try:
        ns.result = run(
            rc, sim=ns.sim, out=ns.out if ns.resume else out, resume=ns.resume, progress=True, say=_say,
            handle_signals=True, stop_event=stop, confirm_axis=confirm,
        )
    except SafeStateUnverified as e:
        print(f"stfmr-lab: SAFE STATE NOT VERIFIED: {e}", file=sys.stderr)
        return 3
    except RunAborted as e:
        print(f"stfmr-lab: {e}", file=sys.stderr)
        return 130
    except RunFailed as e:
        print(f"stfmr-lab: error: {e}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    from stfmr_lab import __version__

    p = argparse.ArgumentParser(prog="stfmr-lab", description="ST-FMR bench software")
    p.add_argument("--version", action="version", version=f"stfmr-lab {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run the paper map on the simulated bench and analyse it")
    d.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    d.add_argument("--quick", action="store_true", help="a small map (two fields, five biases): seconds instead of a minute")
    d.set_defaults(func=_cmd_demo)
    r = sub.add_parser("run", help="headless run of a measurement config")
    r.add_argument("config", help="run config (YAML)")
    r.add_argument("--sim", action="store_true", help="simulated bench (pyvisa-sim twins + virtual device)")
    r.add_argument("--out", help="run file (.h5); never overwritten")
    r.add_argument("--resume", help="continue this interrupted run file (in place: no --out)")
    r.add_argument("--dry-run", action="store_true", help="validate only: print the plan, bench time and limits checked")
    r.set_defaults(func=_cmd_run)
    m = sub.add_parser("models", help="list the supported instrument models per role")
    m.set_defaults(func=_cmd_models)
    t = sub.add_parser("station-template", help="write a commented station file to start from")
    t.add_argument("file", nargs="?", help="where to write it (never overwritten; default: print it)")
    t.set_defaults(func=_cmd_station_template)
    a = sub.add_parser("analyze", help="fits, calibrations, torkances, damping, figures")
    a.add_argument("file", help="run file (.h5)")
    a.add_argument("--report", help="folder for figures, tables and the summary")
    a.add_argument("--ms-vol-emu", type=_positive_float, default=None, metavar="X",
                   help="the free layer's Ms*Vol in emu (default: the run file's sample:, else the paper's)")
    a.set_defaults(func=_cmd_analyze)
    c = sub.add_parser("check", help="identify every instrument of a station file")
    c.add_argument("station", help="station file (YAML)")
    c.add_argument("--sim", action="store_true", help="check the simulated twins instead")
    c.add_argument(
        "--deep", action="store_true",
        help="send every role's configuration commands (RF off, outputs off, zero current) and read the error queues",
    )
    c.add_argument(
        "--simulation", metavar="SIM.yaml",
        help="with --sim: the simulated bench's settings (faults, front_panel, wired_models), as a run config's simulation:",
    )
    c.set_defaults(func=_cmd_check)
    g = sub.add_parser("gui", help="the bench GUI")
    g.add_argument("config", nargs="?", help="run config to load (YAML)")
    g.add_argument("--sim", action="store_true", help="simulated bench (real time)")
    g.set_defaults(func=_cmd_gui)
    return p


def _cmd_gui(args) -> int:
    from stfmr_lab.gui.app import main as gui_main

    return gui_main(config=args.config, sim=args.sim)


def _printable_output() -> None:
    """Never crash on printing a name: output redirected on Windows is cp1252, which has no
    "Ω" or "→"; such characters are written as backslash escapes instead."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


def main(argv: list[str] | None = None) -> int:
    from stfmr_lab.schema import ConfigError
    from stfmr_lab.storage import StorageError

    _printable_output()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: 2 for usage errors
        return int(e.code or 0)
    try:
        return args.func(args)
    except (ConfigError, StorageError, ConnectionError, BadInput) as e:
        print(f"stfmr-lab: error: {one_line(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stfmr-lab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
