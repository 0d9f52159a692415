"""The worker package's public names: `__all__` is exactly the lazily exported names, each is
its owning module's object, and reading the service's settings (which parse the callback
allow-list) loads neither the delivery code nor anything heavy."""

from __future__ import annotations

import subprocess
import sys

import pytest

import gate.worker


def test_all_lists_exactly_the_exported_names():
    assert sorted(gate.worker.__all__) == sorted(gate.worker._EXPORTS)
    assert len(set(gate.worker.__all__)) == len(gate.worker.__all__)


@pytest.mark.parametrize("name", gate.worker.__all__)
def test_every_public_name_resolves_to_its_owner(name):
    owner = sys.modules.get(gate.worker._EXPORTS[name]) or __import__(
        gate.worker._EXPORTS[name], fromlist=["_"]
    )
    assert getattr(gate.worker, name) is getattr(owner, name)
    assert name in owner.__all__


def test_reading_the_service_settings_loads_only_the_allow_list_of_the_worker():
    code = (
        "import sys; from gate.server.settings import build_server_settings; "
        "loaded = [m for m in ('gate.worker.callback', 'gate.worker.callback_schedule', "
        "'sqlalchemy', 'gate.store.store') if m in sys.modules]; print(loaded)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
