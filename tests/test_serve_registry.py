"""The device list: added devices persist, bad names, addresses and profiles are typed errors, and
a damaged file is reported, never overwritten. No models."""

from __future__ import annotations

import pytest

from pipeline.serve.errors import DeviceRegistryError, UnknownDeviceError
from pipeline.serve.registry import DeviceRegistry


def test_add_list_remove(tmp_path):
    reg = DeviceRegistry(tmp_path)
    reg.add("kitchen", "tcp://127.0.0.1:10700", "speaker")
    reg.add("car", "tcp://192.168.1.31:10700", "car")
    again = DeviceRegistry(tmp_path)  # what a restarted hub reads
    assert [(d.name, d.profile, d.host_port) for d in again.list()] == [
        ("kitchen", "speaker", ("127.0.0.1", 10700)),
        ("car", "car", ("192.168.1.31", 10700)),
    ]
    assert again.remove("car").name == "car"
    assert [d.name for d in again.list()] == ["kitchen"]
    with pytest.raises(UnknownDeviceError):
        again.remove("car")


@pytest.mark.parametrize(
    ("name", "uri", "profile"),
    [
        ("Kitchen!", "tcp://127.0.0.1:10700", "speaker"),
        ("kitchen", "http://127.0.0.1:10700", "speaker"),
        ("kitchen", "tcp://127.0.0.1", "speaker"),
        ("kitchen", "tcp://127.0.0.1:10700", "toaster"),
    ],
)
def test_bad_input_is_typed(tmp_path, name, uri, profile):
    with pytest.raises(DeviceRegistryError) as err:
        DeviceRegistry(tmp_path).add(name, uri, profile)
    assert err.value.hint


def test_duplicates_refused(tmp_path):
    reg = DeviceRegistry(tmp_path)
    reg.add("kitchen", "tcp://127.0.0.1:10700", "speaker")
    with pytest.raises(DeviceRegistryError):
        reg.add("kitchen", "tcp://127.0.0.1:10701", "speaker")
    with pytest.raises(DeviceRegistryError):
        reg.add("hall", "tcp://127.0.0.1:10700", "speaker")


def test_damaged_file_is_kept(tmp_path):
    reg = DeviceRegistry(tmp_path)
    reg.path.write_text("{not json")
    with pytest.raises(DeviceRegistryError):
        reg.list()
    with pytest.raises(DeviceRegistryError):
        reg.add("kitchen", "tcp://127.0.0.1:10700", "speaker")
    assert reg.path.read_text() == "{not json"
