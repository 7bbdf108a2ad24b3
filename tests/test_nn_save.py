"""Saving models: exact floats, atomic writes, and loud, specific refusals of bad files."""
import json
import math
import os
import stat
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn
from nn import serialize


def bits(x: float) -> bytes:
    return struct.pack(">d", x)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(allow_nan=False), min_size=17, max_size=17))
def test_every_float_comes_back_bit_for_bit(tmp_path_factory, numbers):
    model = nn.MLP(2, [4, 1], seed=0)
    for p, x in zip(model.parameters(), numbers):
        p.data = x
    path = tmp_path_factory.mktemp("save") / "model.json"
    model.save(path)
    loaded = nn.load(path)
    assert [bits(p.data) for p in loaded.parameters()] == [bits(x) for x in numbers]


def test_special_floats_and_every_architecture(tmp_path):
    model = nn.MLP(3, [2, 2, 1], ["tanh", "sigmoid"], "relu", seed=0)
    specials = [5e-324, -0.0, 1.7976931348623157e308, math.inf, -math.inf, 0.1, 1 / 3]
    for p, x in zip(model.parameters(), specials):
        p.data = x
    model.parameters()[-1].data = math.nan
    model.save(tmp_path / "m.json")
    loaded = nn.load(tmp_path / "m.json")
    assert repr(loaded) == repr(model) and loaded.activations == model.activations
    got = [p.data for p in loaded.parameters()]
    assert [bits(x) for x in got[:len(specials)]] == [bits(x) for x in specials]
    assert math.isnan(got[-1])
    for single in (nn.Layer(3, 2, activation="tanh", seed=0), nn.Neuron(4, nonlin=False, seed=0)):
        single.save(tmp_path / "s.json")
        again = nn.load(tmp_path / "s.json")
        assert type(again) is type(single) and again.state_dict() == single.state_dict()


def test_the_file_is_plain_readable_json(tmp_path):
    model = nn.MLP(2, [3, 1], seed=0)
    model.save(tmp_path / "m.json")
    text = (tmp_path / "m.json").read_text()
    document = json.loads(text)
    assert document["architecture"] == {"type": "MLP", "nin": 2, "nouts": [3, 1],
                                        "activations": ["relu", "linear"]}
    assert document["parameters"] == model.state_dict()
    assert document["parameter_count"] == 13
    row = json.dumps(model.state_dict()["layers.0.weight"][0])
    assert f"      {row}," in text.splitlines()  # one line per row of a weight matrix


def test_load_into_an_existing_model_checks_the_architecture(tmp_path):
    source = nn.MLP(2, [3, 1], seed=0)
    source.save(tmp_path / "m.json")
    target = nn.MLP(2, [3, 1], seed=5)
    target.load(tmp_path / "m.json")
    assert target.state_dict() == source.state_dict()
    with pytest.raises(nn.ModelFileError, match=r"holds MLP\(2 -> 3 relu -> 1 linear\), but the "
                                                r"model it is loaded into is MLP\(2 -> 4 relu"):
        nn.MLP(2, [4, 1]).load(tmp_path / "m.json")


def saved(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [3, 1], seed=0).save(path)
    return path


def test_a_truncated_file_is_refused(tmp_path):
    path = saved(tmp_path)
    text = path.read_text()
    path.write_text(text[:len(text) // 2])
    with pytest.raises(nn.ModelFileError, match="not valid JSON .*truncated or damaged"):
        nn.load(path)


def test_an_edited_number_is_caught_by_the_checksum(tmp_path):
    path = saved(tmp_path)
    document = json.loads(path.read_text())
    document["parameters"]["layers.0.bias"][0] = 0.5
    path.write_text(json.dumps(document))
    with pytest.raises(nn.ModelFileError, match="do not match the SHA-256 .*changed after saving"):
        nn.load(path)
    assert nn.load(path, verify=False).state_dict()["layers.0.bias"][0] == 0.5


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["parameters"]["layers.0.weight"].pop(), r"layers.0.weight should be a 3x2 matrix"),
    (lambda d: d["parameters"].pop("layers.1.bias"), "missing layers.1.bias"),
    (lambda d: d["parameters"]["layers.1.weight"][0].__setitem__(1, "big"),
     r"layers.1.weight\[0\]\[1\] should be a number, got str"),
    (lambda d: d["architecture"].update(nouts=[3, 2], activations=["relu", "linear"]),
     r"layers.1.weight should be a 2x3 matrix"),
    (lambda d: d["architecture"].update(type="os.system"), "'os.system' is not one of"),
    (lambda d: d["architecture"].update(activations=["relu", "gelu"]), "unknown activation 'gelu'"),
    (lambda d: d.update(version=2), "saved by a newer version"),
    (lambda d: d.update(format="pickle"), "not a model saved by nn"),
    (lambda d: d.pop("parameters"), "lacks parameters"),
])
def test_a_file_of_another_shape_says_what_does_not_match(tmp_path, edit, message):
    path = saved(tmp_path)
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    with pytest.raises(nn.ModelFileError, match=message):
        nn.load(path, verify=False)


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no saved model at"):
        nn.load(tmp_path / "nothing.json")
    (tmp_path / "bytes.json").write_bytes(b"\x80\x81\xff")
    with pytest.raises(nn.ModelFileError, match="not UTF-8"):
        nn.load(tmp_path / "bytes.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(nn.ModelFileError, match="not a model saved by nn"):
        nn.load(tmp_path / "list.json")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        nn.MLP(2, [1]).save(tmp_path / "no" / "such" / "dir.json")
    with pytest.raises(IsADirectoryError):
        nn.MLP(2, [1]).save(tmp_path)


# -- atomic saving: a crash at any point leaves the old file whole ---------------------------------

class Crash(Exception):
    pass


def crash(*args, **kwargs):
    raise Crash("power cut")


@pytest.mark.parametrize("target", ["os.replace", "os.fsync", "os.chmod", "nn.serialize.dumps"])
def test_a_crash_mid_save_leaves_the_previous_file_intact(tmp_path, monkeypatch, target):
    path = tmp_path / "model.json"
    old = nn.MLP(2, [3, 1], seed=0)
    old.save(path)
    before = path.read_bytes()
    if target == "nn.serialize.dumps":
        monkeypatch.setattr(serialize, "dumps", crash)
    else:
        monkeypatch.setattr(target, crash)
    with pytest.raises(Crash):
        nn.MLP(2, [3, 1], seed=1).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.json"]  # no temporary file left behind
    assert nn.load(path).state_dict() == old.state_dict()


def test_a_crash_while_writing_leaves_no_partial_file(tmp_path, monkeypatch):
    """The bytes go to a temporary file; a write that dies half-way never reaches the name."""
    path = tmp_path / "model.json"
    real_fdopen = os.fdopen

    class HalfWriter:
        def __init__(self, file):
            self.file = file

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, text):
            self.file.write(text[:len(text) // 2])
            raise Crash("disk full")

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    with pytest.raises(Crash):
        nn.MLP(2, [3, 1], seed=1).save(path)
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saving_over_a_file_keeps_its_permissions(tmp_path):
    path = tmp_path / "m.json"
    nn.MLP(2, [1], seed=0).save(path)
    os.chmod(path, 0o640)
    nn.MLP(2, [1], seed=1).save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
