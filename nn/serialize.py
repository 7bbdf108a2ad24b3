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

Floats are written by ``repr``, which Python reads back to the same bits. The file is written to
a temporary file in the same directory, flushed to disk, then renamed over the old one, so a crash
mid-save leaves the previous file whole. Loading parses JSON only (never pickle, never code), checks
the SHA-256 of the parameters saved with them, and checks every name and shape against the
architecture before any number is used.
"""
from __future__ import annotations

import hashlib
import json
import os

from autograd_mini.files import write_atomic

from .layers import from_config
from .module import Module

FORMAT = "autograd_mini.nn"
VERSION = 1


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


def dumps(model: Module) -> str:
    """The text ``save`` writes: one line per weight-matrix row, so it diffs and reads well."""
    if not isinstance(model, Module):
        raise TypeError(f"save needs an nn.Module, got {type(model).__name__}")
    state = model.state_dict()
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


def save(model: Module, path) -> None:
    """Write ``model`` to ``path`` (architecture and parameters as JSON), atomically.

    >>> import os, tempfile
    >>> from nn import MLP, load
    >>> model = MLP(2, [4, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> model.save(path)
    >>> copy = load(path)
    >>> copy, copy.state_dict() == model.state_dict()
    (MLP(2 -> 4 relu -> 1 linear; 17 parameters), True)
    """
    write_atomic(path, dumps(model))


def read(path, *, verify: bool = True) -> tuple[dict, dict]:
    """(architecture, parameters) of a saved model, after checking the file's format and checksum."""
    where = os.fspath(path)
    try:
        with open(where, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"no saved model at {where}") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{where} is a directory, not a saved model") from None
    except UnicodeDecodeError:
        raise ModelFileError(f"{where}: not a saved model (not UTF-8 text)") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{where}: not valid JSON ({error.msg} at line {error.lineno}, column "
                             f"{error.colno}); the file is truncated or damaged") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f'{where}: not a model saved by nn (no "format": "{FORMAT}")')
    version = document.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(f"{where}: the format version is {version!r}, expected {VERSION}")
    if version > VERSION:
        raise ModelFileError(f"{where}: saved by a newer version of nn (format version {version}; "
                             f"this one reads version {VERSION})")
    missing = [key for key in ("architecture", "parameters", "sha256") if key not in document]
    if missing:
        raise ModelFileError(f"{where}: the file lacks {', '.join(missing)}")
    parameters = document["parameters"]
    if not isinstance(parameters, dict):
        raise ModelFileError(f"{where}: \"parameters\" should be an object of named parameters")
    if verify and _digest(parameters) != document["sha256"]:
        raise ModelFileError(f"{where}: the parameters do not match the SHA-256 saved with them, so "
                             "the file was changed after saving (load with verify=False to accept "
                             "an edited file)")
    return document["architecture"], parameters


def load(path, *, verify: bool = True) -> Module:
    """The model saved at ``path``, rebuilt from its architecture (MLP, Layer or Neuron).

    Raises ``ModelFileError`` saying what does not match for a truncated, edited or foreign file.
    ``verify=False`` skips the checksum (to load a file edited by hand on purpose); the names and
    shapes are checked anyway.
    """
    architecture, parameters = read(path, verify=verify)
    where = os.fspath(path)
    try:
        model = from_config(architecture)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: the architecture {_describe(architecture)} cannot be "
                             f"rebuilt: {error}") from None
    _load_state(model, parameters, where)
    return model


def load_into(model: Module, path, *, verify: bool = True) -> None:
    """Set ``model``'s parameters from ``path``, which must hold the same architecture."""
    architecture, parameters = read(path, verify=verify)
    where = os.fspath(path)
    mine = _architecture(model)
    if architecture != mine:
        raise ModelFileError(f"{where} holds {_describe(architecture)}, but the model it is loaded "
                             f"into is {_describe(mine)}")
    _load_state(model, parameters, where)


def _load_state(model: Module, parameters: dict, where: str) -> None:
    try:
        model.load_state_dict(parameters)
    except (ValueError, TypeError) as error:
        raise ModelFileError(f"{where}: {error}") from None
