"""Static inspection of a learner's model file, before anything loads it.

Runs in the parent process and never imports TensorFlow or Keras: the config
(``config.json`` in a .keras zip, the ``model_config`` attribute of an .h5 file)
is read as plain JSON and the weights as plain HDF5 datasets. Only built-in
Keras objects pass; anything that could run Python code when loaded, read
other files, or exhaust memory is refused with a one-line InvalidModelError.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar

from grader.errors import InvalidModelError, ModelNotFoundError
from grader.sandbox.files import DIRECTORY, REGULAR, kind_of, refusal

_T = TypeVar("_T")


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


SUFFIXES = {".keras": "keras", ".h5": "h5", ".hdf5": "h5"}
"""Accepted model file suffixes and the ModelSummary.format each one means."""
_SAVE = "model.save('model.keras')"
_RESAVE = f"re-save it with {_SAVE}"
_ONLY_BUILTIN = "(only built-in Keras layers are allowed)"
_SUCH_AS = "such as Rescaling"
ZIP_MAGIC, HDF5_MAGIC = b"PK\x03\x04", b"\x89HDF\r\n\x1a\n"
_MAX_CONFIG_BYTES = 32 * 2**20
_MAX_METADATA_BYTES = 2**16
_BYTES_PER_PARAM = 24
"""float64 weights plus two optimizer slots (Adam) per parameter: the most a saved model
legitimately stores per parameter it is allowed."""
_UNPACKED_OVERHEAD = 64 * 2**20
"""Config, metadata and HDF5 bookkeeping on top of the weights."""


def max_unpacked_bytes(max_params: int) -> int:
    """The most a .keras archive of a model with ``max_params`` parameters may unpack to."""
    return max_params * _BYTES_PER_PARAM + _UNPACKED_OVERHEAD


_MAX_RATIO = 100
_MAX_MEMBERS = 10_000
_MAX_H5_LINKS = 200_000
_MAX_DEPTH = 200
_OPTIMIZER_GROUPS = _names("optimizer optimizer_weights")
# What h5py raises on damaged or hostile files.
_H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError)
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)

_MODELS = _names("Sequential Functional Model")
_LAYERS = _MODELS | _names(
    """InputLayer Dense EinsumDense Dropout SpatialDropout1D SpatialDropout2D SpatialDropout3D
    AlphaDropout GaussianNoise GaussianDropout ActivityRegularization Flatten Reshape Permute
    RepeatVector Identity Masking Conv1D Conv2D Conv3D Conv1DTranspose Conv2DTranspose
    Conv3DTranspose SeparableConv1D SeparableConv2D DepthwiseConv1D DepthwiseConv2D MaxPooling1D
    MaxPooling2D MaxPooling3D AveragePooling1D AveragePooling2D AveragePooling3D
    GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D GlobalMaxPooling1D
    GlobalMaxPooling2D GlobalMaxPooling3D BatchNormalization LayerNormalization GroupNormalization
    UnitNormalization Rescaling Normalization Resizing CenterCrop RandomFlip RandomRotation
    RandomZoom RandomTranslation RandomContrast RandomBrightness RandomCrop Activation ReLU
    LeakyReLU PReLU ELU Softmax Add Concatenate Multiply Average Maximum Minimum Subtract Dot
    ZeroPadding1D ZeroPadding2D ZeroPadding3D Cropping1D Cropping2D Cropping3D UpSampling1D
    UpSampling2D UpSampling3D LSTM GRU SimpleRNN RNN LSTMCell GRUCell SimpleRNNCell
    StackedRNNCells ConvLSTM1D ConvLSTM2D ConvLSTM3D Bidirectional TimeDistributed Embedding
    MultiHeadAttention Attention AdditiveAttention StringLookup IntegerLookup TextVectorization
    CategoryEncoding Hashing Discretization"""
)
# Non-layer objects nested in layer configs: initializers, regularizers, constraints, dtypes.
_NESTED = _names(
    """Constant GlorotNormal GlorotUniform HeNormal HeUniform IdentityInitializer LecunNormal
    LecunUniform Ones Orthogonal OrthogonalInitializer RandomNormal RandomUniform TruncatedNormal
    VarianceScaling Zeros L1 L2 L1L2 OrthogonalRegularizer MaxNorm NonNeg UnitNorm MinMaxNorm
    DTypePolicy FloatDTypePolicy"""
)
# Keras' own value encodings (serialization_lib); none of them imports or runs code.
_VALUES = _names("__keras_tensor__ __tensor__ __numpy__ __bytes__ __ellipsis__ __slice__")
_ACTIVATIONS = _names(
    """celu elu exponential gelu glu hard_shrink hard_sigmoid hard_silu hard_swish hard_tanh
    leaky_relu linear log_sigmoid log_softmax mish relu relu6 selu sigmoid silu soft_shrink
    softmax softplus softsign sparse_plus sparse_sigmoid sparsemax squareplus swish tanh
    tanh_shrink threshold"""
)
_ACTIVATION_MODULES = _names("keras.activations keras.src.activations")
_ACTIVATION_LAYERS = _names("ReLU LeakyReLU PReLU ELU Softmax")
_CODE_STRINGS = _names("__lambda__ __python_function__")
_LOOKUPS = _names("StringLookup IntegerLookup TextVectorization")


_PASS_THROUGH = _names(
    """Activation ReLU LeakyReLU PReLU ELU Softmax Dropout AlphaDropout GaussianNoise
    GaussianDropout SpatialDropout1D SpatialDropout2D SpatialDropout3D ActivityRegularization
    BatchNormalization LayerNormalization UnitNormalization GroupNormalization Identity"""
)
"""Layers that keep their input's last axis: the output's unit count lies before them."""


@dataclass(frozen=True)
class LayerInfo:
    """One layer of the config tree (InputLayer left out), as the saved file declares it."""

    class_name: str
    """Keras class, e.g. ``"Conv2D"``; a nested model is ``"Functional"``/``"Sequential"``."""
    name: str
    """The layer's name in the config, e.g. ``"block_16_project"``."""
    trainable: bool
    """False when the layer, or any model around it, is saved with ``trainable: false``."""
    within: tuple[str, ...] = ()
    """Names of the nested models around it, outermost first; ``()`` at the top level."""


@dataclass(frozen=True)
class ModelSummary:
    """What static inspection learned about an accepted model file."""

    format: str
    """``"keras"`` or ``"h5"``."""
    class_names: tuple[str, ...]
    """Every layer/model class name in the config, in walk order."""
    n_params: int
    """Total size of the stored weight arrays, optimizer state excluded."""
    last_activation: str | None
    """Activation at the output end of the top-level model ("softmax", ...), None if unknown."""
    has_rescaling: bool
    """A Rescaling or Normalization layer is present."""
    output_units: int | None = None
    """Units of the top-level output layer (``Dense(3)`` -> 3), None if not declared."""
    layers: tuple[LayerInfo, ...] = ()
    """Every layer of the config tree, nested models' layers included, in walk order."""
    rescaling: tuple[tuple[float, float], ...] = ()
    """``(scale, offset)`` of each Rescaling layer whose config gives both as plain numbers
    (per-channel arrays are left out), in walk order."""
    config: Any = field(default=None, repr=False, compare=False)
    """The parsed config itself (plain JSON data), for the task's own checks."""


def inspect_model(path: Path, *, max_params: int, max_file_mb: float) -> ModelSummary:
    """Check the model file at ``path`` without loading it; raise InvalidModelError to refuse."""
    name = path.name
    kind = kind_of(path)
    if kind is None:
        raise ModelNotFoundError(f"No model at {path}. Train and save one first, e.g. {_SAVE}.")
    if kind not in (REGULAR, DIRECTORY):
        raise InvalidModelError(refusal(path, kind))  # a link, pipe or device: never opened
    if kind == DIRECTORY:
        if (path / "saved_model.pb").exists():
            raise _refuse(name, f"is a TensorFlow SavedModel directory; save a Keras file: {_SAVE}")
        raise _refuse(name, "is a directory, not a Keras model file (.keras zip or .h5)")
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        has = f"has suffix {_q(path.suffix)}" if path.suffix else "has no suffix"
        raise _refuse(name, f"{has}; accepted formats: .keras, .h5, .hdf5")
    size = path.stat().st_size
    if size > max_file_mb * 2**20:
        raise _refuse(
            name, f"is {size / 2**20:,.1f} MB; this task allows at most {max_file_mb:g} MB"
        )
    with path.open("rb") as fh:
        magic = fh.read(8)
    if not magic:
        raise _refuse(name, "is empty: not a Keras model file (.keras zip or .h5)")
    if fmt == "keras" and magic.startswith(HDF5_MAGIC):
        raise _refuse(name, "is an HDF5 file named .keras; rename it to model.h5")
    if fmt == "h5" and magic.startswith(ZIP_MAGIC):
        raise _refuse(name, "is a .keras zip archive named .h5; rename it to model.keras")
    if not magic.startswith(ZIP_MAGIC if fmt == "keras" else HDF5_MAGIC):
        raise _refuse(name, "is not a Keras model file (.keras zip or .h5)")
    config, n_params = (
        _read_keras(path, size, max_unpacked_bytes(max_params))
        if fmt == "keras"
        else _read_h5(path)
    )
    walker = _Walker(name, "config.json" if fmt == "keras" else "model_config")
    walker.check_model(config)
    if fmt == "keras" and walker.list_axes:
        _refuse_keras2(path, walker.list_axes[0])
    if n_params > max_params:
        raise _refuse(name, f"has {n_params:,} parameters; this task allows at most {max_params:,}")
    return ModelSummary(
        format=fmt,
        class_names=tuple(walker.class_names),
        n_params=n_params,
        last_activation=_last_activation(config),
        has_rescaling=not {"Rescaling", "Normalization"}.isdisjoint(walker.class_names),
        output_units=_output_units(config),
        layers=tuple(_layer_infos(config)),
        rescaling=tuple(walker.rescaling),
        config=config,
    )


def _refuse(name: str, reason: str) -> InvalidModelError:
    return InvalidModelError(" ".join(f"{name} {reason}".split()))


def _q(value: object) -> str:
    """Quote an untrusted value for a one-line message."""
    return repr(str(value)[:80])


def _refuse_keras2(path: Path, layer: str) -> None:
    """Keras 2 (tf_keras) wrote a BatchNormalization ``axis`` as a one-element list, which
    Keras 3 refuses to load from a .keras archive (its .h5 loader converts it): say so."""
    version = _keras_version(path)
    if version is not None and version.startswith("2."):
        shown = version if re.fullmatch(r"2\.[0-9A-Za-z.+-]{1,20}", version) else "2"
        raise _refuse(
            path.name,
            f"was saved by Keras {shown} (tf_keras), and Keras 3 cannot load its "
            f"BatchNormalization {_q(layer)} from a .keras file (axis saved as a list); save "
            "it as .h5 instead: model.save('model.h5'), which grades correctly",
        )


def _keras_version(path: Path) -> str | None:
    """``keras_version`` from a .keras archive's metadata.json, None when absent or unreadable."""
    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("metadata.json")
            if info.file_size > _MAX_METADATA_BYTES:
                return None
            metadata = json.loads(zf.read(info))
    except (*_ZIP_ERRORS, KeyError, ValueError, RecursionError):
        return None
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    return version if isinstance(version, str) else None


def _read_keras(path: Path, size: int, max_unpacked: int) -> tuple[Any, int]:
    """Config and parameter count of a .keras zip, after the archive-level checks."""
    name = path.name
    raw, n_params = keras_archive(
        path, name, size, max_unpacked, lambda weights: _weights_params(weights, name)
    )
    return _parse_json(raw, name, "config.json"), n_params


def keras_archive(
    source: Path | IO[bytes],
    name: str,
    size: int,
    max_unpacked: int,
    read_weights: Callable[[IO[bytes]], _T],
) -> tuple[bytes, _T]:
    """Open a .keras zip (a path, or its bytes as a file object) after the archive-level
    checks; return its raw config.json and what ``read_weights`` makes of its
    model.weights.h5 (unpacked into an anonymous temporary file)."""
    try:
        with zipfile.ZipFile(source) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_MEMBERS:
                raise _refuse(name, f"has too many zip members ({len(infos):,}); {_RESAVE}")
            seen: set[str] = set()
            for info in infos:
                member = info.filename
                parts = PurePosixPath(member.replace("\\", "/")).parts
                if member.startswith(("/", "\\")) or ".." in parts or ":" in member:
                    raise _refuse(name, f"has zip member {_q(member)} escaping the archive")
                if member in seen:
                    raise _refuse(name, f"has zip member {_q(member)} twice; {_RESAVE}")
                seen.add(member)
            total = sum(info.file_size for info in infos)
            if total > _MAX_RATIO * size:
                raise _refuse(name, f"unpacks to {total:,} bytes from {size:,} (a zip bomb?)")
            if total > max_unpacked:
                raise _refuse(
                    name,
                    f"unpacks to {total:,} bytes, more than a model within this task's "
                    f"parameter limit can hold ({max_unpacked:,}); {_RESAVE}",
                )
            for member in ("config.json", "model.weights.h5"):
                if member not in seen:
                    raise _refuse(name, f"has no {member}: not a whole Keras model; {_RESAVE}")
            if zf.getinfo("config.json").file_size > _MAX_CONFIG_BYTES:
                raise _refuse(name, f"has a config.json over {_MAX_CONFIG_BYTES // 2**20} MB")
            raw = zf.read("config.json")
            with tempfile.TemporaryFile() as tmp:
                with zf.open("model.weights.h5") as src:
                    shutil.copyfileobj(src, tmp)
                tmp.seek(0)
                weights = read_weights(tmp)
    except _ZIP_ERRORS as err:
        raise _refuse(name, f"is a corrupt or truncated zip ({err}); {_RESAVE}") from None
    return raw, weights


def _weights_params(fileobj: IO[bytes], name: str) -> int:
    return h5_file(fileobj, name, lambda f: _h5_params(f, name, None))


def h5_file(
    source: IO[bytes], name: str, read: Callable[[Any], _T], what: str = "model.weights.h5"
) -> _T:
    """What ``read`` makes of the open HDF5 file ``source`` (a .keras archive's
    model.weights.h5, or an .h5 model's bytes); a damaged file is refused in one line."""
    import h5py

    try:
        with h5py.File(source, "r") as f:
            return read(f)
    except _H5_ERRORS as err:
        raise _refuse(name, f"has a corrupt {what} ({err}); {_RESAVE}") from None


def _read_h5(path: Path) -> tuple[Any, int]:
    """Config and parameter count of a legacy .h5 model file."""
    import h5py

    name = path.name
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("model_config")
            if raw is None:
                raise _refuse(
                    name,
                    "is an h5 file with no model_config: it holds weights only; save the whole "
                    f"model with {_SAVE} (or model.save('model.h5'))",
                )
            if not isinstance(raw, str | bytes):
                raise _refuse(name, "has a model_config attribute that is not JSON text")
            return _parse_json(raw, name, "model_config"), _h5_params(f, name, "model_weights")
    except _H5_ERRORS as err:
        raise _refuse(name, f"is a corrupt or truncated HDF5 file ({err}); {_RESAVE}") from None


def _h5_params(f: Any, name: str, under: str | None) -> int:
    """Sum dataset sizes below group ``under`` (None: all but optimizer state); refuse links."""
    return sum(int(dataset.size or 0) for dataset in h5_weights(f, name, under))


def h5_weights(f: Any, name: str, under: str | None) -> Iterator[Any]:
    """Every weight dataset below group ``under`` of an open HDF5 file (None: all but the
    optimizer state), in storage order; refuses links and data stored outside the file."""
    import h5py

    visited = 0
    stack: list[tuple[str, Any]] = [("", f)]
    while stack:
        prefix, group = stack.pop()
        for key in group:
            full = f"{prefix}/{key}".lstrip("/")
            visited += 1
            if visited > _MAX_H5_LINKS:
                raise _refuse(name, f"has over {_MAX_H5_LINKS:,} HDF5 objects; {_RESAVE}")
            link = group.get(key, getlink=True)
            if not isinstance(link, h5py.HardLink):
                # Keras never writes HDF5 links; an ExternalLink would read another file.
                raise _refuse(name, f"has an HDF5 {type(link).__name__} at {_q(full)}; {_RESAVE}")
            obj = group[key]
            if isinstance(obj, h5py.Group):
                stack.append((full, obj))
            elif isinstance(obj, h5py.Dataset):
                if obj.external or obj.is_virtual:
                    raise _refuse(name, f"has HDF5 dataset {_q(full)} stored outside the file")
                top = full.split("/", 1)[0]
                if top == under or (under is None and top not in _OPTIMIZER_GROUPS):
                    yield obj


def _parse_json(raw: str | bytes, name: str, what: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise _refuse(name, f"has a {what} that is not valid JSON ({err}); {_RESAVE}") from None


class _Walker:
    """Checks every object in a config tree; collects layer class names on the way."""

    def __init__(self, name: str, what: str) -> None:
        self.name, self.what = name, what
        self.class_names: list[str] = []
        self.rescaling: list[tuple[float, float]] = []
        self.list_axes: list[str] = []  # BatchNormalization layers with a list axis (Keras 2)

    def refuse(self, where: str, reason: str) -> InvalidModelError:
        return _refuse(f"{self.name}:", f"{where}: {reason}")

    def check_model(self, config: Any) -> None:
        if not isinstance(config, dict) or config.get("class_name") not in _MODELS:
            raise self.refuse(self.what, f"not a Keras Sequential/Functional model; {_RESAVE}")
        # load_model(compile=False) drops the top-level compile_config unread, so only
        # serialized code is refused there; nested ones are deserialized, so checked.
        self.walk(config.get("compile_config"), "compile_config", "code", 0)
        rest = {key: value for key, value in config.items() if key != "compile_config"}
        self.walk(rest, "model", "model", 0)

    def walk(self, node: Any, where: str, mode: str, depth: int) -> None:
        """Check ``node``; mode is "model" (full rules), "object" (no allowlist) or "code"."""
        if depth > _MAX_DEPTH:
            raise self.refuse(where, f"config is nested deeper than {_MAX_DEPTH} levels")
        if isinstance(node, list):
            for item in node:
                self.walk(item, where, mode, depth + 1)
        elif isinstance(node, str) and node in _CODE_STRINGS:
            raise self.refuse(where, f"value {_q(node)} is serialized Python code")
        elif isinstance(node, dict):
            if "class_name" in node:
                where = self.check_object(node, where, mode)
            for key, value in node.items():
                code_type = str(key).endswith("_type") and value == "lambda"
                if code_type or (key in ("function", "function_type") and value is not None):
                    raise self.refuse(where, f"config key {_q(key)} carries Python code")
                if key in ("activation", "recurrent_activation") and mode != "code":
                    self.check_activation(value, f"{where} {key}")
                sub = "object" if key == "compile_config" and mode == "model" else mode
                self.walk(value, where, sub, depth + 1)

    def check_object(self, obj: dict[str, Any], where: str, mode: str) -> str:
        """Refuse ``obj`` unless it is a built-in Keras object; return its place for messages."""
        cls, inner = obj["class_name"], obj.get("config")
        if not isinstance(cls, str):
            raise self.refuse(where, f"class_name {_q(cls)} is not a string")
        if cls in _VALUES:
            return where
        name = inner.get("name") if isinstance(inner, dict) and cls not in _NESTED else None
        here = f"layer {_q(name)}" if name is not None else f"{where} {cls}"
        if cls == "Lambda":
            raise self.refuse(
                here, f"Lambda layers carry Python code; replace it with built-in layers {_SUCH_AS}"
            )
        if cls == "__lambda__":
            raise self.refuse(
                here, "a serialized Python lambda carries code; use built-in Keras objects"
            )
        if cls == "TFSMLayer":
            raise self.refuse(
                here, "TFSMLayer wraps a TensorFlow SavedModel; use built-in Keras layers"
            )
        if mode == "code":
            return here
        module, registered = obj.get("module"), obj.get("registered_name")
        if "module" in obj and not (module == "keras" or str(module).startswith("keras.")):
            kind = "a custom class" if module is None else f"from module {_q(module)}"
            raise self.refuse(here, f"class {_q(cls)} is {kind}, not Keras {_ONLY_BUILTIN}")
        if registered and registered != cls and not (cls == "function" and registered == inner):
            raise self.refuse(
                here, f"{_q(cls)} is a custom registered object {_q(registered)} {_ONLY_BUILTIN}"
            )
        if mode == "object":
            return here
        if cls == "function":
            if module not in _ACTIVATION_MODULES or inner not in _ACTIVATIONS:
                raise self.refuse(here, f"function {_q(inner)} is not a built-in Keras activation")
        elif cls not in _LAYERS | _NESTED:
            raise self.refuse(here, f"unknown layer class {_q(cls)} {_ONLY_BUILTIN}")
        if cls in _LAYERS:
            self.class_names.append(cls)
        if (
            cls == "BatchNormalization"
            and isinstance(inner, dict)
            and isinstance(inner.get("axis"), list)
        ):
            self.list_axes.append(str(name))
        if cls == "Rescaling" and isinstance(inner, dict):
            scale, offset = inner.get("scale", 1.0), inner.get("offset", 0.0)
            if _is_number(scale) and _is_number(offset):
                self.rescaling.append((float(scale), float(offset)))
        vocabulary = inner.get("vocabulary") if isinstance(inner, dict) else None
        if cls in _LOOKUPS and isinstance(vocabulary, str):
            raise self.refuse(
                here,
                f"reads its vocabulary from file {_q(vocabulary)}; pass the vocabulary as a list",
            )
        return here

    def check_activation(self, value: Any, where: str) -> None:
        if value is None or (isinstance(value, str) and value in _ACTIVATIONS):
            return
        if isinstance(value, dict):
            module, cls = value.get("module"), value.get("class_name")
            if (module in _ACTIVATION_MODULES and cls == "function") or (
                module == "keras.layers" and cls in _ACTIVATION_LAYERS
            ):
                return  # the walk itself checks the object
        raise self.refuse(where, f"{_q(value)} is not a built-in Keras activation")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _to_output(config: Any) -> list[dict[str, Any]] | None:
    """A model config's layers up to its (single) output layer; None if it has no layer list."""
    inner = config.get("config") if isinstance(config, dict) else None
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(inner, dict) or not isinstance(layers, list):
        return None
    layers = [layer for layer in layers if isinstance(layer, dict)]
    names = [_layer_name(layer) for layer in layers]
    outputs = inner.get("output_layers")
    if isinstance(outputs, list) and len(outputs) == 1:
        outputs = outputs[0]  # [["dense", 0, 0]] as well as ["dense", 0, 0]
    if isinstance(outputs, list) and outputs and outputs[0] in names:
        layers = layers[: names.index(outputs[0]) + 1]
    return layers


def _last_activation(config: Any) -> str | None:
    """Activation at the output end of a model config, recursing into a final nested model."""
    layers = _to_output(config)
    if layers is None:
        return None
    for layer in reversed(layers):
        cls, cfg = layer.get("class_name"), layer.get("config")
        if cls == "Softmax":
            return "softmax"
        if cls in _MODELS and (found := _last_activation(layer)) is not None:
            return found
        if isinstance(cfg, dict) and "activation" in cfg:
            act = cfg["activation"]
            if isinstance(act, dict):
                act = (
                    act.get("config")
                    if act.get("class_name") == "function"
                    else act.get("class_name")
                )
            return "linear" if act is None else str(act).lower()
    return None


def _layer_name(layer: dict[str, Any]) -> object:
    cfg = layer.get("config")
    return cfg.get("name") if isinstance(cfg, dict) else layer.get("name")


def _output_units(config: Any, depth: int = 0) -> int | None:
    """``units`` of the layer that sets the output's last axis, looking past activations,
    dropout and normalization and into a final nested model; None when no layer declares it."""
    layers = _to_output(config)
    if layers is None or depth > _MAX_DEPTH:
        return None
    for layer in reversed(layers):
        cls, cfg = layer.get("class_name"), layer.get("config")
        if cls in _MODELS:
            return _output_units(layer, depth + 1)
        units = cfg.get("units") if isinstance(cfg, dict) else None
        if isinstance(units, int) and not isinstance(units, bool):
            return units
        if cls not in _PASS_THROUGH:
            return None
    return None


def _layer_infos(
    config: Any, within: tuple[str, ...] = (), trainable: bool = True
) -> list[LayerInfo]:
    """Every layer of a model config, depth first; nested models are entered."""
    inner = config.get("config") if isinstance(config, dict) else None
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(inner, dict) or not isinstance(layers, list) or len(within) > _MAX_DEPTH:
        return []
    trainable = trainable and inner.get("trainable") is not False  # a model saved frozen
    found: list[LayerInfo] = []
    for layer in layers:
        cls = layer.get("class_name") if isinstance(layer, dict) else None
        if not isinstance(cls, str) or cls == "InputLayer":
            continue
        cfg = layer.get("config")
        on = trainable and not (isinstance(cfg, dict) and cfg.get("trainable") is False)
        name = str(_layer_name(layer) or "")
        found.append(LayerInfo(cls, name, on, within))
        if cls in _MODELS:
            found.extend(_layer_infos(layer, (*within, name), on))
    return found
