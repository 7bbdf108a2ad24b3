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
    with pytest.raises(nn.ModelFileError, match="no saved model at .*nothing.json"):
        nn.load(tmp_path / "nothing.json")
    with pytest.raises(nn.ModelFileError, match="is a directory, not a saved model"):
        nn.load(tmp_path)
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


# -- hostile files: only ModelFileError, naming the file, ever leaves nn.load ----------------------

def test_nan_sign_and_payload_survive_bit_for_bit(tmp_path):
    patterns = [0x7FF8000000000000, 0xFFF8000000000000, 0x7FF0000000000001, 0xFFF4000000000123,
                0x7FFFFFFFFFFFFFFF]
    nans = [struct.unpack(">d", struct.pack(">Q", p))[0] for p in patterns]
    model = nn.MLP(2, [2, 1], seed=0)
    for p, x in zip(model.parameters(), nans):
        p.data = x
    model.save(tmp_path / "m.json")
    loaded = nn.load(tmp_path / "m.json")
    got = [struct.unpack(">Q", bits(p.data))[0] for p in loaded.parameters()[:len(nans)]]
    assert [hex(g) for g in got] == [hex(p) for p in patterns]
    assert json.loads((tmp_path / "m.json").read_text())["parameters"]  # still plain JSON


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.integers(1, 2**52 - 1))
def test_any_nan_survives(tmp_path_factory, negative, payload):
    pattern = (negative << 63) | (0x7FF << 52) | payload
    model = nn.Neuron(1, seed=0)
    model.b.data = struct.unpack(">d", struct.pack(">Q", pattern))[0]
    path = tmp_path_factory.mktemp("nan") / "m.json"
    model.save(path)
    assert bits(nn.load(path).b.data) == struct.pack(">Q", pattern)


def write_document(tmp_path, document, name="m.json"):
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_the_architecture_is_checked_before_anything_is_built(tmp_path, monkeypatch):
    """A 264-byte file asking for a billion inputs is refused without building the model."""
    def must_not_build(config):
        raise AssertionError(f"built {config} before checking the parameters")

    monkeypatch.setattr(serialize, "from_config", must_not_build)
    document = {"format": "autograd_mini.nn", "version": 1,
                "architecture": {"type": "MLP", "nin": 1000000000, "nouts": [1],
                                 "activations": ["linear"]},
                "parameter_count": 2, "parameters": {"layers.0.weight": [[0.5]],
                                                     "layers.0.bias": [0.0]}, "sha256": "0"}
    path = write_document(tmp_path, document)
    with pytest.raises(nn.ModelFileError, match=r"m.json: .*nin should be a whole number from 1 "
                                                r"to 10,000,000, got 1000000000"):
        nn.load(path, verify=False)
    document["architecture"].update(nin=100_000, nouts=[100_000])  # each fine, together too big
    path = write_document(tmp_path, document)
    with pytest.raises(nn.ModelFileError, match=r"m.json: .* has 10,000,100,000 parameters; files "
                                                r"of at most 10,000,000 are loaded"):
        nn.load(path, verify=False)
    document["architecture"].update(nin=2, nouts=[1])
    path = write_document(tmp_path, document)
    with pytest.raises(nn.ModelFileError, match=r"layers.0.weight\[0\] should be a row of 2"):
        nn.load(path, verify=False)
    document["parameters"]["layers.0.weight"] = [[0.5, 0.25]]
    path = write_document(tmp_path, document)
    with pytest.raises(nn.ModelFileError, match=r"parameter_count is 2, but .* has 3"):
        nn.load(path, verify=False)


def test_expected_shapes_agree_with_the_models(tmp_path):
    for model in (nn.Neuron(3, seed=0), nn.Layer(2, 4, seed=0), nn.MLP(3, [4, 2, 1], seed=0),
                  nn.MLP(1, [1], seed=0)):
        shapes = {name: shape for name, (shape, _) in model._layout().items()}
        assert serialize.expected_shapes(model.config()) == shapes


@pytest.mark.parametrize("replacement, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("[" * 1000 + "0.5" + "]" * 1000, "nested too deeply|should be a number"),
    (str(10**400), "beyond the range of a float|digits"),
    ("1e400", "beyond the range of a float"),
    ("-1e999", "beyond the range of a float"),
    ("1" * 5000, r"integer of [\d,]+ digits"),
])
def test_hostile_numbers_and_nesting(tmp_path, replacement, message):
    path = saved(tmp_path)
    document = json.loads(path.read_text())
    document["parameters"]["layers.0.bias"][0] = "@here@"
    path.write_text(json.dumps(document).replace('"@here@"', replacement))
    for verify in (True, False):
        with pytest.raises(nn.ModelFileError, match=rf"m.json: .*({message})"):
            nn.load(path, verify=verify)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_and_fifos_are_not_read(tmp_path):
    """/dev/zero never ends: load regular files only (checked in a process with little memory,
    so a regression fails instead of filling the machine's memory)."""
    program = ("import resource, nn\n"
               "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
               "try:\n    nn.load('/dev/zero')\n"
               "except nn.ModelFileError as error:\n    print('refused:', error)\n")
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.startswith("refused: /dev/zero: not a regular file"), done.stderr[-500:]
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # no writer: opening it for reading must not wait
    with pytest.raises(nn.ModelFileError, match="pipe: not a regular file"):
        nn.load(fifo)


def test_a_file_over_the_size_cap_is_refused(tmp_path, monkeypatch):
    path = saved(tmp_path)
    monkeypatch.setattr(serialize, "MAX_FILE_BYTES", 100)
    with pytest.raises(nn.ModelFileError, match=r"m.json: .*larger than"):
        nn.load(path)


VALID = None


def valid_text() -> str:
    global VALID
    if VALID is None:
        model = nn.MLP(2, [3, 1], seed=0)
        model.parameters()[0].data = math.nan
        VALID = serialize.dumps(model)
    return VALID


hostile_pieces = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["1e400", "-1e999", "NaN", "Infinity", "-0.0", "true", "null", '"x"', "{}",
                     "[]", '"NaN:0x7ff8000000000001"', '"NaN:0x0000000000000001"',
                     str(10**400), "1" * 5000, "9" * 30, "1000000000", "-1", "0"]),
    st.integers(1, 3000).map(lambda n: "[" * n + "1" + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
)


@st.composite
def hostile_files(draw):
    text = valid_text()
    how = draw(st.sampled_from(["truncate", "replace", "flip", "architecture", "count"]))
    if how == "truncate":
        return text[:draw(st.integers(0, len(text)))]
    if how == "flip":
        position = draw(st.integers(0, len(text) - 1))
        return text[:position] + draw(st.characters(max_codepoint=0x7F)) + text[position + 1:]
    document = json.loads(text)
    if how == "architecture":
        field = draw(st.sampled_from(["nin", "nouts", "activations", "type"]))
        if draw(st.booleans()):
            document["architecture"][field] = "@hostile@"
            return json.dumps(document).replace('"@hostile@"', draw(hostile_pieces))
        document["architecture"][field] = draw(st.lists(st.integers(-5, 10**7), max_size=3))
        return json.dumps(document)
    if how == "count":
        document["parameter_count"] = draw(st.integers(-10, 10**12))
        return json.dumps(document)
    # replace one number (or bracket) of the parameters by a hostile piece
    numbers = [m.start() for m in __import__("re").finditer(r"-?\d[\d.e+-]*|NaN", text)]
    start = draw(st.sampled_from(numbers))
    end = start + len(__import__("re").match(r"-?\d[\d.e+-]*|NaN", text[start:])[0])
    return text[:start] + draw(hostile_pieces) + text[end:]


@settings(max_examples=150, deadline=None)
@given(hostile_files(), st.booleans())
def test_hostile_files_give_a_model_or_a_model_file_error(tmp_path_factory, text, verify):
    path = tmp_path_factory.mktemp("hostile") / "hostile.json"
    path.write_text(text)
    try:
        model = nn.load(path, verify=verify)
    except nn.ModelFileError as error:
        assert str(path) in str(error)
    else:
        assert isinstance(model, nn.Module)
        assert len(model.parameters()) <= serialize.MAX_PARAMETERS


def test_an_architecture_of_another_type_is_bounded_before_building(tmp_path, monkeypatch):
    def must_not_build(config):
        raise AssertionError(f"built {config} before checking its size")

    monkeypatch.setattr(serialize, "from_config", must_not_build)
    document = {"format": "autograd_mini.nn", "version": 1,
                "architecture": {"type": "Maxout", "nin": 10**9, "nout": 10**9, "k": 2},
                "parameter_count": 1, "parameters": {"weight": [0.5]}, "sha256": "0"}
    with pytest.raises(nn.ModelFileError, match=r"m.json: .*size of 1,000,000,000"):
        nn.load(write_document(tmp_path, document), verify=False)
    document["architecture"].update(nin=5000, nout=5000, k=4)
    with pytest.raises(nn.ModelFileError, match=r"m.json: .*too large to load"):
        nn.load(write_document(tmp_path, document), verify=False)


def test_a_read_only_file_is_refused_unless_forced(tmp_path):
    """As `autograd-mini graph --force`: mode 444 is refused (root too: the rule reads the mode
    bits), force writes over it and keeps the mode."""
    path = tmp_path / "kept.json"
    path.write_text("the user's")
    os.chmod(path, 0o444)
    model = nn.MLP(2, [3, 1], seed=5)
    for save in (lambda: nn.save(model, path), lambda: model.save(path)):
        with pytest.raises(PermissionError, match="read-only"):
            save()
        assert path.read_text() == "the user's"
    nn.save(model, path, force=True)
    assert nn.load(path).state_dict() == model.state_dict()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o444
    other = nn.MLP(2, [3, 1], seed=6)
    other.save(path, force=True)
    assert nn.load(path).state_dict() == other.state_dict() != model.state_dict()
