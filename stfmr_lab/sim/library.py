"""A pyvisa-sim library whose devices can answer from Python (the coupling point).

pyvisa-sim answers each device from its YAML alone; its devices know nothing of each
other. ``CoupledSimLibrary`` loads the same YAML files and then turns every device into a
``CoupledDevice``, which first asks the bench (``stfmr_lab.sim.bench.SimBench``) whether a
query is one of the computed ones (the lock-in's outputs, the source-meter's reading, the
gaussmeter's field) and falls back to the YAML for everything else. The bench also sees
every command first, which is where faults are injected.

This relies on private parts of pyvisa-sim 0.7.1 (``Device._match``, ``Devices._internal``,
``Component._properties``, ``Device._error_queues``); pyproject pins it exactly and
``tests/sim/test_library.py`` fails loudly if they move.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyvisa
from pyvisa_sim.component import NoResponse
from pyvisa_sim.devices import Device
from pyvisa_sim.highlevel import SimVisaLibrary

if TYPE_CHECKING:  # pragma: no cover
    from stfmr_lab.sim.bench import SimBench


class CoupledDevice(Device):
    """A pyvisa-sim device whose replies may come from the bench."""

    _bench: "SimBench"
    _resource: str

    def _match(self, query: bytes):
        bench = self._bench
        verdict = bench.before_message(self._resource, query)
        if verdict is not None:  # the bench decided (computed reply, or a fault)
            return verdict
        response = super()._match(query)
        bench.after_message(self._resource, query, response)
        return response

    def write(self, data: bytes) -> None:
        if self._bench.is_gone(self._resource):
            return  # a vanished instrument swallows everything
        super().write(data)

    # helpers for the twins -------------------------------------------------
    def prop(self, name: str):
        """Current value of a YAML property."""
        return self._properties[name].get_value()

    def set_prop(self, name: str, value) -> None:
        self._properties[name].set_value(str(value))

    def push_error(self, message: str) -> None:
        """Append a message to every error queue of the device."""
        for q in self._error_queues.values():
            q._queue.append(message.encode())


class CoupledSimLibrary(SimVisaLibrary):
    """pyvisa-sim's library, one fresh instance per bench, with coupled devices."""

    @classmethod
    def open_fresh(cls, yaml_path: str) -> "CoupledSimLibrary":
        """Load ``yaml_path`` into a new library (pyvisa caches libraries by path; we don't)."""
        lib = cls(yaml_path)
        # pyvisa keeps one library per (class, path); drop ours from that registry so that
        # the next bench on the same YAML starts from fresh devices.
        cls._registry.pop((cls, lib.library_path), None)
        return lib

    def couple(self, bench: "SimBench") -> dict[str, CoupledDevice]:
        """Turn every loaded device into a ``CoupledDevice`` answering through ``bench``."""
        devices = {}
        for resource, device in self.devices._internal.items():
            device.__class__ = CoupledDevice
            device._bench = bench
            device._resource = resource
            devices[resource] = device
        return devices

    def open_resource_manager(self) -> pyvisa.ResourceManager:
        """A pyvisa ResourceManager on this library (its ``resource_manager`` attribute is pyvisa's)."""
        return pyvisa.ResourceManager(self)


__all__ = ["CoupledDevice", "CoupledSimLibrary", "NoResponse"]
