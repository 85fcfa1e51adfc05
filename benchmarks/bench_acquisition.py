"""Acquisition overhead on the simulated bench (virtual clock, no sleeping).

Four ways to take the same points (one field, 5 biases x 801 frequencies), the first two
floors that name what they include:
- pyvisa-sim floor: bare pyvisa sessions on plain pyvisa-sim devices with fixed replies
  (no twin, no device model), the same three messages per point as the procedure (set
  frequency, SNAP? 1,2, LIAS?): the cost of pyvisa + pyvisa-sim alone;
- twin floor: bare pyvisa sessions on the coupled twins (the same messages): adds the
  simulated device's physics (the twins' replies computed from the device model, the
  lock-in's filter, the noise) - the floor any run on the simulated bench has;
- ours: ``stfmr_lab.run`` (lock-in and chop set-up, closed-loop field, bias ramps, guard,
  procedure, journal + HDF5, safe shutdown), timed from its start event to its stop event;
- pymeasure stock: a plain pymeasure ``Procedure`` with the same loop through its ``Worker``
  and CSV ``Results`` (stock pymeasure drivers).
The machine's load and BLAS threads are printed with the figures (``benchmarks.conditions``).
Run: ``python -m benchmarks.bench_acquisition``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FREQS = np.linspace(7.6e9, 9.6e9, 801)
CURRENTS = [0.0, 5e-5, -5e-5, 1e-4, -1e-4]
POINTS = len(FREQS) * len(CURRENTS)


def station_config():
    from stfmr_lab.station import load_station

    return load_station(REPO / "examples" / "station.yaml")


def run_config():
    return {
        "name": "bench",
        "station": str(REPO / "examples" / "station.yaml"),
        "simulation": {"noise": True, "seed": 1},
        "lockin": {"time_constant_s": 0.03, "settle_time_constants": 15},
        "field_to_zero_at_end": False,
        "measurements": [
            {"type": "map", "fields_oe": [1000.0], "biases_a": CURRENTS,
             "frequency": {"start_hz": float(FREQS[0]), "stop_hz": float(FREQS[-1]), "points": len(FREQS)}}
        ],
    }


#: plain pyvisa-sim devices with fixed replies, for the pyvisa-sim floor (no twin behind them)
BARE_DEVICES = """
spec: "1.1"
devices:
  source:
    eom: {GPIB INSTR: {q: "\\n", r: "\\n"}}
    dialogues: [{q: "*IDN?", r: "bare source"}]
    properties:
      frequency: {default: 1.0e9, getter: {q: ":FREQ:CW?", r: "{:+.11E}"}, setter: {q: ":FREQ:CW {}"}, specs: {type: float}}
  dc:
    eom: {GPIB INSTR: {q: "\\n", r: "\\n"}}
    dialogues: [{q: "*IDN?", r: "bare dc"}]
    properties:
      current: {default: 0.0, getter: {q: ":SOUR:CURR:LEV?", r: "{:+.6E}"}, setter: {q: ":SOUR:CURR:LEV {}"}, specs: {type: float}}
  lockin:
    eom: {GPIB INSTR: {q: "\\n", r: "\\n"}}
    dialogues:
      - {q: "*IDN?", r: "bare lockin"}
      - {q: "SNAP? 1,2", r: "1.234567E-06,-2.345678E-07"}
      - {q: "LIAS?", r: "0"}
resources:
  GPIB0::19::INSTR: {device: source}
  GPIB0::24::INSTR: {device: dc}
  GPIB0::8::INSTR: {device: lockin}
"""


def pyvisa_sim_floor(tmp: Path) -> float:
    """Bare pyvisa queries on plain pyvisa-sim devices with fixed replies: seconds for POINTS points."""
    import pyvisa

    yaml_path = tmp / "bare.yaml"
    yaml_path.write_text(BARE_DEVICES)
    rm = pyvisa.ResourceManager(f"{yaml_path}@sim")
    kw = {"write_termination": "\n", "read_termination": "\n"}
    src = rm.open_resource("GPIB0::19::INSTR", **kw)
    dc = rm.open_resource("GPIB0::24::INSTR", **kw)
    li = rm.open_resource("GPIB0::8::INSTR", **kw)
    t0 = time.perf_counter()
    for i in CURRENTS:
        dc.write(f":SOUR:CURR:LEV {i:.6e}")
        for f in FREQS:
            src.write(f":FREQ:CW {f:.3f}")
            x, y = (float(v) for v in li.query("SNAP? 1,2").split(","))
            int(li.query("LIAS?"))
    dt = time.perf_counter() - t0
    assert float(src.query(":FREQ:CW?")) == FREQS[-1].round(3)  # the writes reached the device
    rm.close()
    return dt


def floor() -> float:
    """Bare pyvisa queries through the coupled twins (the twin floor): seconds for POINTS points."""
    from stfmr_lab.sim.bench import build_bench

    cfg = station_config()
    bench = build_bench(cfg, {}, {"noise": True, "seed": 1})
    rm = bench.resource_manager()
    inst = {
        role: rm.open_resource(c["address"], write_termination="\n", read_termination="\n")
        for role, c in cfg["instruments"].items()
    }
    src, dc, li, mag = inst["source"], inst["dc"], inst["lockin"], inst["magnet_supply"]
    mag.write("FUNC:MODE CURR")
    mag.write("OUTP 1")
    mag.write("CURR 4.0")
    src.write(":POW:AMPL -10.00")
    src.write(":PULM:STAT 1")
    src.write(":OUTP 1")
    dc.write(":SOUR:FUNC CURR")
    dc.write(":OUTP 1")
    t0 = time.perf_counter()
    for i in CURRENTS:
        dc.write(f":SOUR:CURR:LEV {i:.6e}")
        for f in FREQS:
            src.write(f":FREQ:CW {f:.3f}")
            bench.clock.sleep(0.45)
            x, y = (float(v) for v in li.query("SNAP? 1,2").split(","))
            int(li.query("LIAS?"))
    dt = time.perf_counter() - t0
    bench.close()
    return dt


def ours(tmp: Path) -> float:
    """From the run's start event (station open, file created) to its stop event: like the
    floor and the stock path, the building of the simulated bench is not timed."""
    from stfmr_lab.runner import run
    from stfmr_lab.stream import RunStream

    marks = {}

    class Clock:
        def start(self, info):
            marks["start"] = time.perf_counter()

        def stop(self, status, safe_state):
            marks["stop"] = time.perf_counter()

    stream = RunStream()
    stream.subscribe(Clock())
    path = run(run_config(), sim=True, out=tmp / f"ours-{time.perf_counter_ns()}.h5", stream=stream)
    dt = marks["stop"] - marks["start"]
    from stfmr_lab.storage import read_run

    assert len(read_run(path).data["vmix"]) == POINTS
    return dt


def pymeasure_stock(tmp: Path) -> float:
    """The same sweep as a plain pymeasure Procedure + Worker + CSV Results."""
    from pymeasure.adapters import VISAAdapter
    from pymeasure.experiment import Procedure, Results, Worker
    from pymeasure.instruments.agilent.agilent8257D import Agilent8257D
    from pymeasure.instruments.keithley.keithley2400 import Keithley2400
    from pymeasure.instruments.srs.sr830 import SR830

    from stfmr_lab.sim.bench import build_bench

    cfg = station_config()
    bench = build_bench(cfg, {}, {"noise": True, "seed": 1})

    def adapter(role):
        return VISAAdapter(cfg["instruments"][role]["address"], visa_library=bench.library,
                           write_termination="\n", read_termination="\n")

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src = Agilent8257D(adapter("source"))
    dc = Keithley2400(adapter("dc"))
    li = SR830(adapter("lockin"))
    mag = VISAAdapter(cfg["instruments"]["magnet_supply"]["address"], visa_library=bench.library,
                      write_termination="\n", read_termination="\n")

    class Sweep(Procedure):
        DATA_COLUMNS = ["Frequency (Hz)", "Bias current (A)", "X (V)", "Y (V)"]

        def startup(self):
            mag.write("FUNC:MODE CURR")
            mag.write("OUTP 1")
            mag.write("CURR 4.0")
            src.write(":POW:AMPL -10.00")
            src.write(":PULM:STAT 1")
            src.write(":OUTP 1")
            dc.write(":SOUR:FUNC CURR")
            dc.write(":OUTP 1")

        def execute(self):
            for i in CURRENTS:
                dc.write(f":SOUR:CURR:LEV {i:.6e}")
                for f in FREQS:
                    src.write(f":FREQ:CW {f:.3f}")
                    bench.clock.sleep(0.45)
                    x, y = li.snap()
                    int(li.ask("LIAS?"))
                    self.emit("results", {"Frequency (Hz)": f, "Bias current (A)": i, "X (V)": x, "Y (V)": y})

    csv = tmp / f"stock-{time.perf_counter_ns()}.csv"
    results = Results(Sweep(), str(csv))
    worker = Worker(results, port=None)
    t0 = time.perf_counter()
    worker.start()
    worker.join(timeout=600)
    dt = time.perf_counter() - t0
    n = sum(1 for line in open(csv) if line[:1].isdigit() or line[:1] == "-")
    assert n == POINTS, n
    bench.close()
    return dt


def main() -> dict:
    from benchmarks.conditions import conditions, describe
    from stfmr_lab.runner import run  # noqa: F401  (import cost outside the timings)

    before = conditions()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        ours(tmp)  # warm-up (imports, caches)
        pyvisa_sim_floor(tmp)
        t_bare = t_floor = t_ours = t_stock = float("inf")
        for _ in range(3):  # interleaved, best of three: the machine's load changes
            t_bare = min(t_bare, pyvisa_sim_floor(tmp))
            t_floor = min(t_floor, floor())
            t_ours = min(t_ours, ours(tmp))
            t_stock = min(t_stock, pymeasure_stock(tmp))
    after = conditions()
    out = {
        "points": POINTS,
        "pyvisa_sim_floor_points_per_s": POINTS / t_bare,
        "floor_points_per_s": POINTS / t_floor,
        "ours_points_per_s": POINTS / t_ours,
        "stock_points_per_s": POINTS / t_stock,
        "twin_over_pyvisa_sim": t_floor / t_bare,
        "ours_over_floor": t_ours / t_floor,
        "ours_over_pyvisa_sim": t_ours / t_bare,
        "stock_over_ours": t_stock / t_ours,
        "conditions": {"before": before, "after": after},
    }
    print(f"acquisition, {POINTS} points on the simulated bench (virtual clock), best of 3 interleaved:")
    print(f"  conditions: before {describe(before)}; after {describe(after)}")
    print(f"  pyvisa-sim floor (fixed replies, no twin): {out['pyvisa_sim_floor_points_per_s']:8.0f} points/s")
    print(f"  twin floor (bare pyvisa on the twins):     {out['floor_points_per_s']:8.0f} points/s"
          f"   time ratio to the pyvisa-sim floor {out['twin_over_pyvisa_sim']:.2f}x")
    print(f"  stfmr-lab run (HDF5 + journal):            {out['ours_points_per_s']:8.0f} points/s"
          f"   time ratio to the twin floor {out['ours_over_floor']:.2f}x, to the pyvisa-sim floor "
          f"{out['ours_over_pyvisa_sim']:.2f}x")
    print(f"  pymeasure Procedure + CSV (on the twins):  {out['stock_points_per_s']:8.0f} points/s"
          f"   time ratio to ours {out['stock_over_ours']:.2f}x")
    return out


if __name__ == "__main__":
    main()
    sys.exit(0)
