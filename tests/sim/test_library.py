"""The coupled pyvisa-sim library: the private parts it stands on, isolation, faults.

``stfmr_lab/sim/library.py`` and the twins reach into pyvisa-sim 0.7.1's internals. If an
upgrade moves any of them, the first tests here fail with a message naming the part,
before anything else misbehaves quietly.
"""

import time
from collections.abc import MutableMapping
from importlib import metadata

import pytest
import pyvisa
from pyvisa.constants import StatusCode
from pyvisa_sim import component, devices, highlevel
from stfmr_lab.instruments.base import InstrumentReplyError

from stfmr_lab.sim.bench import SimBench, sim_config_path
from stfmr_lab.sim.library import CoupledDevice, CoupledSimLibrary

LOCKINS = ("sr830", "sr860")


# ---------------------------------------------------------------- the private parts
def test_pinned_versions():
    assert metadata.version("pyvisa-sim") == "0.7.1", "pyvisa-sim moved: re-check stfmr_lab/sim/library.py"
    assert metadata.version("pyvisa") == "1.16.2", "pyvisa moved: re-check stfmr_lab/sim/library.py"


def test_private_parts_we_rely_on_are_there():
    missing = []
    if not callable(getattr(devices.Device, "_match", None)):
        missing.append("pyvisa_sim.devices.Device._match")
    if not callable(getattr(devices.Device, "error_response", None)):
        missing.append("pyvisa_sim.devices.Device.error_response")
    if not isinstance(getattr(highlevel.SimVisaLibrary, "_registry", None), MutableMapping):
        missing.append("SimVisaLibrary._registry (pyvisa's library cache, a mapping)")
    if not hasattr(component, "NoResponse"):
        missing.append("pyvisa_sim.component.NoResponse")
    for name in ("_properties", "_getters", "_setters", "_dialogues"):
        if name not in component.Component.__annotations__:
            missing.append(f"pyvisa_sim.component.Component.{name}")
    for name in ("_error_queues", "_status_registers"):
        if name not in devices.Device.__annotations__:
            missing.append(f"pyvisa_sim.devices.Device.{name}")
    if "_internal" not in devices.Devices.__annotations__:
        missing.append("pyvisa_sim.devices.Devices._internal")
    if "_queue" not in devices.ErrorQueue.__annotations__:
        missing.append("pyvisa_sim.devices.ErrorQueue._queue")
    assert not missing, "pyvisa-sim internals moved: " + ", ".join(missing)


def test_private_parts_hold_what_we_expect(make_station):
    st = make_station()
    lib = st.bench.library
    assert isinstance(lib.devices, devices.Devices)
    internal = lib.devices._internal
    assert isinstance(internal, dict) and len(internal) == 5
    for dev in internal.values():
        assert type(dev) is CoupledDevice and isinstance(dev, devices.Device)
        assert type(dev)._match is not devices.Device._match  # ours answers first
        assert isinstance(dev._properties, dict)
        for prop in dev._properties.values():
            assert isinstance(prop, component.Property)
            prop.set_value(str(prop.get_value()))  # the round trip the twins use
    src = st.bench.twins["source"].device
    queue = src._error_queues[b":SYST:ERR?"]
    assert isinstance(queue, devices.ErrorQueue) and isinstance(queue._queue, list)
    src.push_error('-1,"probe"')
    assert queue._queue == [b'-1,"probe"']
    assert st["source"].check_errors() == ['-1,"probe"']
    # the library is not cached by pyvisa: the next bench starts from fresh devices
    assert (CoupledSimLibrary, lib.library_path) not in highlevel.SimVisaLibrary._registry


def test_status_register_the_sr860_twin_uses(make_station, station_config):
    station_config["instruments"]["lockin"]["model"] = "sr860"
    st = make_station(config=station_config)
    dev = st.bench.twins["lockin"].device
    register = dev._status_registers[b"*ESR?"]
    assert isinstance(register, devices.StatusRegister)
    dev.error_response("execution_error")
    assert register.value == b"16"


# ---------------------------------------------------------------- isolation
def test_two_benches_on_the_same_yaml_do_not_share_state(make_station):
    a, b = make_station(), make_station()
    assert a.bench.library is not b.bench.library
    a["source"].set_frequency_hz(5.5e9)
    a["lockin"].set_sensitivity_v(2e-3)
    a.bench.inject("dc", "vanish")
    assert b["source"].get_frequency_hz() == 1e9
    assert b["lockin"].get_sensitivity_v() == 1.0
    assert b["dc"].get_output_enabled() is False  # b's dc still answers
    assert a["source"].get_frequency_hz() == 5.5e9


def test_fresh_libraries_on_one_file_are_independent():
    wiring = {"source": ("agilent_e8257d", "GPIB0::19::INSTR")}
    one, two = SimBench(wiring, noise=False), SimBench(wiring, noise=False)
    try:
        d1, d2 = one.twins["source"].device, two.twins["source"].device
        assert d1 is not d2
        d1.set_prop("frequency", 2e9)
        assert d2.prop("frequency") == 1e9
        # and neither is pyvisa's cached library for that file
        rm = pyvisa.ResourceManager(f"{sim_config_path('agilent_e8257d.yaml')}@sim")
        assert rm.visalib is not one.library and rm.visalib is not two.library
    finally:
        one.close()
        two.close()


# ---------------------------------------------------------------- faults
@pytest.fixture
def lockin_station(make_station, station_config, request):
    station_config["instruments"]["lockin"]["model"] = request.param
    station_config["instruments"]["lockin"]["timeout_ms"] = 200
    return make_station(config=station_config)


def _is_timeout(exc):
    return isinstance(exc, pyvisa.errors.VisaIOError) and exc.error_code == StatusCode.error_timeout


@pytest.mark.parametrize("lockin_station", LOCKINS, indirect=True)
def test_timeout_fault_drops_one_reply(lockin_station):
    st = lockin_station
    li = st["lockin"]
    li.read_xy()
    st.bench.inject("lockin", "timeout")
    t0 = time.monotonic()
    with pytest.raises(pyvisa.errors.VisaIOError) as e:
        li.read_xy()
    assert _is_timeout(e.value)
    assert time.monotonic() - t0 < 2.0  # the station's 200 ms, not the default 3 s
    assert len(li.read_xy()) == 2  # the next query is answered again
    assert li.identify()


@pytest.mark.parametrize("lockin_station", LOCKINS, indirect=True)
def test_vanish_fault_silences_every_later_query(lockin_station):
    st = lockin_station
    li = st["lockin"]
    st.bench.inject("lockin", "vanish")
    for query in (li.read_xy, li.identify):
        with pytest.raises(pyvisa.errors.VisaIOError) as e:
            query()
        assert _is_timeout(e.value)
    ident = st.identify()
    assert "NO ANSWER" in ident["lockin"]
    assert ident["source"].startswith("Agilent")  # the others still answer
    st.bench.revive("lockin")
    assert li.identify()


@pytest.mark.parametrize("lockin_station", LOCKINS, indirect=True)
def test_error_fault_shows_in_check_errors(lockin_station):
    st = lockin_station
    li = st["lockin"]
    assert li.check_errors() == []
    st.bench.inject("lockin", "error")
    assert li.check_errors() != []
    assert li.check_errors() == []  # read and cleared


@pytest.mark.parametrize("lockin_station", LOCKINS, indirect=True)
def test_overload_fault_shows_in_overloaded(lockin_station):
    st = lockin_station
    li = st["lockin"]
    li.read_xy()
    assert not li.overloaded()
    st.bench.inject("lockin", "overload")
    assert li.overloaded()
    assert not li.overloaded()
    st.bench.inject("lockin", "overload", count=2)
    li.read_xy()  # the first query after the injection reads an overloaded output
    assert li.overloaded()


@pytest.mark.parametrize("lockin_station", LOCKINS, indirect=True)
def test_garbage_fault_is_a_reply_error(lockin_station):
    st = lockin_station
    st.bench.inject("lockin", "garbage")
    with pytest.raises(InstrumentReplyError):
        st["lockin"].read_xy()
    assert len(st["lockin"].read_xy()) == 2


def test_faults_from_the_simulation_config(make_station, station_config):
    station_config["instruments"]["dc"]["timeout_ms"] = 200
    st = make_station(config=station_config, faults=[{"instrument": "dc", "kind": "timeout", "at": 4}])
    dc = st["dc"]  # opening: the error queue (query 1) and identify() (query 2)
    assert dc.get_output_enabled() is False  # query 3
    with pytest.raises(pyvisa.errors.VisaIOError) as e:
        dc.get_current_a()  # query 4
    assert _is_timeout(e.value)
    assert dc.get_current_a() == 0.0
