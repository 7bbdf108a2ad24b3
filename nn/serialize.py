"""Saving and loading models as JSON: the architecture and every parameter, bit for bit.

The file is plain JSON that a person can read::

    {
      "format": "autograd_mini.nn",
      "version": 1,
      "architecture": {"type": "MLP", "nin": 2, "nouts": [16, 1], "activations": ["relu", "linear"]},
      "parameter_count": 65,
      "parameters": {
        "layers.0.weight": [
          [0.6888437030500962, 0.515908805880605],
          ...

Floats are written by ``repr``, which Python reads back to the same bits; infinities as
``Infinity``, Python's own NaN as ``NaN``, and any other NaN (a negative one, or one with a
payload) as a string of its 64 bits, ``"NaN:0xfff8000000000000"``, so every float comes back bit
for bit. Saving goes through ``autograd_mini.files.write_atomic``: a regular file is replaced
atomically (a crash mid-save leaves the previous file whole), a symlink's target is written, a
device or FIFO is written straight through.

Loading trusts nothing in the file. It reads regular files only, at most ``MAX_FILE_BYTES``; parses
JSON only (never pickle, never code), refusing numbers beyond a float's range, integers of more
than ``MAX_INT_DIGITS`` digits and deep nesting; checks every name and shape, and
``parameter_count``, against the architecture, and the architecture against ``MAX_PARAMETERS``,
before building anything; and checks the SHA-256 of the parameters saved with them. Whatever is
wrong, the one error that leaves ``load`` is ``ModelFileError``, naming the file.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import struct

from autograd_mini.files import write_atomic

from .layers import from_config
from .module import Module, _flatten

FORMAT = "autograd_mini.nn"
VERSION = 1

MAX_FILE_BYTES = 256 * 2**20  # a model of MAX_PARAMETERS floats takes about 25 MB
MAX_PARAMETERS = 10_000_000   # a scalar engine: far more than it can train in a day
MAX_INT_DIGITS = 30           # layer sizes and counts; a weight is written as a float
MAX_NUMBER_CHARS = 1000       # a float's text (repr needs at most 24 characters)
MAX_LAYERS = 10_000


class ModelFileError(ValueError):
    """A file is not a model ``save`` wrote, or not the model it is being loaded into."""


def _digest(parameters) -> str:
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _architecture(model: Module) -> dict:
    try:
        return model.config()
    except NotImplementedError:  # a user's own Module: model.load(path) can still read it
        return {"type": type(model).__name__}


def _describe(config) -> str:
    if isinstance(config, dict) and config.get("type") == "MLP":
        try:
            path = " -> ".join(f"{n} {a}" for n, a in zip(config["nouts"], config["activations"]))
            return f"MLP({config['nin']} -> {path})"
        except (KeyError, TypeError):
            pass
    return json.dumps(config)


_PYTHON_NAN = struct.unpack(">Q", struct.pack(">d", math.nan))[0]
_NAN_TEXT = re.compile(r"NaN:0x([0-9a-f]{16})")


def _bits(x: float) -> int:
    return struct.unpack(">Q", struct.pack(">d", x))[0]


def _encode_number(x):
    """A float as JSON keeps it: a NaN other than Python's own becomes the text of its bits."""
    if isinstance(x, float) and x != x and _bits(x) != _PYTHON_NAN:
        return f"NaN:0x{_bits(x):016x}"
    return x


def _decode_number(x):
    """The inverse of ``_encode_number``; any other text is left for the shape check to refuse."""
    if isinstance(x, str):
        match = _NAN_TEXT.fullmatch(x)
        if match:
            number = struct.unpack(">d", struct.pack(">Q", int(match[1], 16)))[0]
            if number != number:
                return number
    return x


def _map_numbers(function, state: dict) -> dict:
    """``function`` applied to every number of a state dict (numbers, lists, lists of lists)."""
    def apply(value):
        if isinstance(value, list):
            return [[function(x) for x in row] if isinstance(row, list) else function(row)
                    for row in value]
        return function(value)
    return {name: apply(value) for name, value in state.items()}


def dumps(model: Module) -> str:
    """The text ``save`` writes: one line per weight-matrix row, so it diffs and reads well."""
    if not isinstance(model, Module):
        raise TypeError(f"save needs an nn.Module, got {type(model).__name__}")
    state = _map_numbers(_encode_number, model.state_dict())
    entries = []
    for name, value in state.items():
        if isinstance(value, list) and value and isinstance(value[0], list):
            rows = ",\n".join(f"      {json.dumps(row)}" for row in value)
            entries.append(f"    {json.dumps(name)}: [\n{rows}\n    ]")
        else:
            entries.append(f"    {json.dumps(name)}: {json.dumps(value)}")
    return "\n".join([
        "{",
        f'  "format": {json.dumps(FORMAT)},',
        f'  "version": {VERSION},',
        f'  "architecture": {json.dumps(_architecture(model))},',
        f'  "parameter_count": {model.num_parameters()},',
        '  "parameters": {',
        ",\n".join(entries),
        "  },",
        f'  "sha256": {json.dumps(_digest(state))}',
        "}",
        "",
    ])


def save(model: Module, path, *, force: bool = False) -> None:
    """Write ``model`` to ``path`` (architecture and parameters as JSON), atomically. A
    read-only file there is refused unless ``force`` (as ``cp -f``; its mode is kept).

    >>> import os, tempfile
    >>> from nn import MLP, load
    >>> model = MLP(2, [4, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> model.save(path)
    >>> copy = load(path)
    >>> copy, copy.state_dict() == model.state_dict()
    (MLP(2 -> 4 relu -> 1 linear; 17 parameters), True)
    """
    write_atomic(path, dumps(model), force=force)


class _Refused(Exception):
    """Raised from inside the JSON parser for a number that will not be read."""


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {digits:,} digits (at most {MAX_INT_DIGITS} are read)")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number written with {len(text):,} characters")
    number = float(text)
    if math.isinf(number):
        raise _Refused(f"the number {text[:30]} is beyond the range of a float (write Infinity "
                       f"for an infinite weight)")
    return number


def _read_text(where: str) -> str:
    """The file's text: a regular file only (a device or FIFO may never end), at most
    ``MAX_FILE_BYTES``."""
    try:  # O_NONBLOCK: opening a FIFO without a writer must not wait for one
        descriptor = os.open(where, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ModelFileError(f"no saved model at {where}") from None
    except OSError as error:
        raise ModelFileError(f"{where}: cannot be read ({error.strerror or error})") from None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise ModelFileError(f"{where} is a directory, not a saved model")
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(f"{where}: not a regular file (a device, FIFO or socket); "
                                 f"models are loaded from files that save wrote")
        if info.st_size > MAX_FILE_BYTES:
            raise ModelFileError(f"{where}: {info.st_size:,} bytes, larger than any model file "
                                 f"(at most {MAX_FILE_BYTES:,} bytes)")
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            data = file.read(MAX_FILE_BYTES + 1)  # the file may grow while we read it
    except OSError as error:
        raise ModelFileError(f"{where}: cannot be read ({error.strerror or error})") from None
    finally:
        os.close(descriptor)
    if len(data) > MAX_FILE_BYTES:
        raise ModelFileError(f"{where}: larger than any model file (at most {MAX_FILE_BYTES:,} "
                             f"bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError(f"{where}: not a saved model (not UTF-8 text)") from None


def _parse(text: str, where: str):
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except _Refused as error:
        raise ModelFileError(f"{where}: {error}") from None
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{where}: not valid JSON ({error.msg} at line {error.lineno}, column "
                             f"{error.colno}); the file is truncated or damaged") from None
    except RecursionError:
        raise ModelFileError(f"{where}: nested too deeply to be a saved model") from None
    except (ValueError, OverflowError) as error:
        raise ModelFileError(f"{where}: not a saved model ({error})") from None


def _size(value, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_PARAMETERS:
        raise ValueError(f"{what} should be a whole number from 1 to {MAX_PARAMETERS:,}, got "
                         f"{value!r:.40}")
    return value


def expected_shapes(architecture) -> dict[str, tuple[int, ...]] | None:
    """Name -> shape of every parameter of a Neuron, Layer or MLP architecture, without building it.

    ``None`` for another type (``from_config`` says what is allowed). A field of the wrong kind
    raises ``ValueError``.

    >>> expected_shapes({"type": "Layer", "nin": 2, "nout": 3, "activation": "relu"})
    {'weight': (3, 2), 'bias': (3,)}
    """
    kind = architecture.get("type") if isinstance(architecture, dict) else None
    if kind == "Neuron":
        return {"weight": (_size(architecture.get("nin"), "nin"),), "bias": ()}
    if kind == "Layer":
        nin, nout = _size(architecture.get("nin"), "nin"), _size(architecture.get("nout"), "nout")
        return {"weight": (nout, nin), "bias": (nout,)}
    if kind == "MLP":
        nouts = architecture.get("nouts")
        if not isinstance(nouts, list) or not 1 <= len(nouts) <= MAX_LAYERS:
            raise ValueError(f"nouts should be a list of 1 to {MAX_LAYERS:,} layer sizes, got "
                             f"{nouts!r:.60}")
        sizes = [_size(architecture.get("nin"), "nin")] + [_size(n, "each of nouts") for n in nouts]
        shapes = {}
        for i in range(len(nouts)):
            shapes[f"layers.{i}.weight"] = (sizes[i + 1], sizes[i])
            shapes[f"layers.{i}.bias"] = (sizes[i + 1],)
        return shapes
    return None


def _count(shapes: dict) -> int:
    return sum(math.prod(shape) for shape in shapes.values())


def _check_against_architecture(document: dict, where: str) -> None:
    """Every parameter's name and shape, and parameter_count, against the architecture; the
    architecture's size against ``MAX_PARAMETERS``. Nothing is built."""
    architecture, parameters = document["architecture"], document["parameters"]
    try:
        shapes = expected_shapes(architecture)
    except ValueError as error:
        raise ModelFileError(f"{where}: the architecture {_describe(architecture)} cannot be "
                             f"rebuilt: {error}") from None
    if shapes is None:  # another type: bound what building it could allocate
        _check_generic_size(architecture, where)
        return
    total = _count(shapes)
    if total > MAX_PARAMETERS:
        raise ModelFileError(f"{where}: the architecture {_describe(architecture)} has "
                             f"{total:,} parameters; files of at most {MAX_PARAMETERS:,} are "
                             f"loaded")
    missing = [name for name in shapes if name not in parameters]
    unexpected = [name for name in parameters if name not in shapes]
    if missing or unexpected:
        parts = (["missing " + ", ".join(missing)] if missing else []) + \
            (["unexpected " + ", ".join(map(str, unexpected))] if unexpected else [])
        raise ModelFileError(f"{where}: the parameters do not match the architecture "
                             f"{_describe(architecture)}: {'; '.join(parts)}")
    for name, shape in shapes.items():
        try:
            _flatten(_map_numbers(_decode_number, {name: parameters[name]})[name], shape, name)
        except (ValueError, TypeError) as error:
            raise ModelFileError(f"{where}: {error}") from None
    count = document.get("parameter_count", total)
    if count != total or isinstance(count, bool):
        raise ModelFileError(f"{where}: parameter_count is {count!r:.40}, but the architecture "
                             f"{_describe(architecture)} has {total:,}")


def _check_generic_size(architecture, where: str) -> None:
    """For an architecture ``expected_shapes`` does not know (a newer layer type): its parameters
    are at most the product of (size + 1) over its whole-number fields, so cap that product."""
    if not isinstance(architecture, dict):
        return
    bound = 1
    for value in architecture.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, int) and not isinstance(item, bool):
                if not 0 <= item <= MAX_PARAMETERS:
                    raise ModelFileError(f"{where}: the architecture {_describe(architecture)} "
                                         f"has a size of {item:,}; at most {MAX_PARAMETERS:,}")
                bound *= item + 1
    if bound > MAX_PARAMETERS * 10:  # the +1s overestimate; not by more than this in practice
        raise ModelFileError(f"{where}: the architecture {_describe(architecture)} is too large "
                             f"to load (files of at most {MAX_PARAMETERS:,} parameters are loaded)")


def read(path, *, verify: bool = True) -> tuple[dict, dict]:
    """(architecture, parameters) of a saved model, after checking the file's format, its shapes
    against its architecture, and its checksum. Raises ``ModelFileError`` only."""
    where = os.fspath(path)
    document = _parse(_read_text(where), where)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f'{where}: not a model saved by nn (no "format": "{FORMAT}")')
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{where}: the format version is {version!r:.40}, expected {VERSION}")
    if version > VERSION:
        raise ModelFileError(f"{where}: saved by a newer version of nn (format version {version}; "
                             f"this one reads version {VERSION})")
    missing = [key for key in ("architecture", "parameters", "sha256") if key not in document]
    if missing:
        raise ModelFileError(f"{where}: the file lacks {', '.join(missing)}")
    parameters = document["parameters"]
    if not isinstance(parameters, dict):
        raise ModelFileError(f"{where}: \"parameters\" should be an object of named parameters")
    _check_against_architecture(document, where)
    if verify:
        try:
            matches = _digest(parameters) == document["sha256"]
        except (RecursionError, ValueError):  # nesting no model has (an unknown architecture)
            raise ModelFileError(f"{where}: the parameters are nested too deeply to be a "
                                 f"saved model") from None
        if not matches:
            raise ModelFileError(f"{where}: the parameters do not match the SHA-256 saved with "
                                 "them, so the file was changed after saving (load with "
                                 "verify=False to accept an edited file)")
    return document["architecture"], _map_numbers(_decode_number, parameters)


def load(path, *, verify: bool = True) -> Module:
    """The model saved at ``path``, rebuilt from its architecture (MLP, Layer or Neuron).

    Raises ``ModelFileError`` (and nothing else) saying what does not match for a missing,
    truncated, edited, oversized or foreign file; nothing is built before the file's shapes are
    checked against its architecture. ``verify=False`` skips the checksum (to load a file edited
    by hand on purpose); the names and shapes are checked anyway.
    """
    where = os.fspath(path)
    with _only_model_file_errors(where):
        architecture, parameters = read(path, verify=verify)
        try:
            model = from_config(architecture)
        except (ValueError, TypeError) as error:
            raise ModelFileError(f"{where}: the architecture {_describe(architecture)} cannot "
                                 f"be rebuilt: {error}") from None
        _load_state(model, parameters, where)
        return model


def load_into(model: Module, path, *, verify: bool = True) -> None:
    """Set ``model``'s parameters from ``path``, which must hold the same architecture."""
    where = os.fspath(path)
    with _only_model_file_errors(where):
        architecture, parameters = read(path, verify=verify)
        mine = _architecture(model)
        if architecture != mine:
            raise ModelFileError(f"{where} holds {_describe(architecture)}, but the model it is "
                                 f"loaded into is {_describe(mine)}")
        _load_state(model, parameters, where)


def _load_state(model: Module, parameters: dict, where: str) -> None:
    try:
        model.load_state_dict(parameters)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: {error}") from None


class _only_model_file_errors:
    """Whatever slipped past the checks above still leaves as a ModelFileError naming the file."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None or isinstance(error, ModelFileError) or \
                not isinstance(error, (ValueError, TypeError, ArithmeticError, RecursionError,
                                       OSError, UnicodeError, KeyError, IndexError)):
            return False
        raise ModelFileError(f"{self.where}: not a usable saved model ({type(error).__name__}: "
                             f"{str(error)[:200]})") from None


# Every model saves and loads itself (module.py cannot import this file: it sits below layers).
def _save_method(self: Module, path, *, force: bool = False) -> None:
    """Write architecture and parameters to ``path`` as JSON, atomically; ``nn.load`` reads it.
    A read-only file there is refused unless ``force``."""
    save(self, path, force=force)


def _load_method(self: Module, path, *, verify: bool = True) -> None:
    """Set this model's parameters from a file ``save`` wrote for the same architecture."""
    load_into(self, path, verify=verify)


_save_method.__name__, _load_method.__name__ = "save", "load"
Module.save, Module.load = _save_method, _load_method
