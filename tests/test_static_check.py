"""Tests for grader.sandbox.static_check: static checks of model files before any load.

Hand-made configs are written straight into zips / HDF5 files (fast, no TensorFlow);
tests marked ``slow`` build real tiny Keras models.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from grader.errors import InvalidModelError, ModelNotFoundError
from grader.sandbox.static_check import LayerInfo, ModelSummary, inspect_model

# Dense(3) on 4 inputs: a (4, 3) kernel and a (3,) bias.
DENSE_WEIGHTS = {"layers/dense/vars/0": (4, 3), "layers/dense/vars/1": (3,)}
DENSE_PARAMS = 15


def obj(class_name: str, module: str | None = "keras.layers", **config: Any) -> dict[str, Any]:
    """A Keras 3 serialized object, as found in config.json."""
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def dense(name: str = "dense", activation: Any = "softmax", **extra: Any) -> dict[str, Any]:
    init = obj("GlorotUniform", module="keras.initializers", seed=None)
    dtype = obj("DTypePolicy", module="keras", name="float32")
    return obj(
        "Dense",
        name=name,
        units=3,
        activation=activation,
        kernel_initializer=init,
        dtype=dtype,
        **extra,
    )


def sequential(*layers: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A Sequential model config with a (None, 4) input and ``layers`` after it."""
    inp = obj("InputLayer", batch_shape=[None, 4], dtype="float32", name="input_layer")
    return {**obj("Sequential", module="keras", name="sequential", layers=[inp, *layers]), **top}


def h5_bytes(datasets: dict[str, tuple[int, ...]]) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for name, shape in datasets.items():
            f.create_dataset(name, data=np.zeros(shape, dtype="float32"))
    return buf.getvalue()


def write_keras(
    path: Path,
    config: Any,
    weights: dict[str, tuple[int, ...]] | bytes = DENSE_WEIGHTS,
    extra: dict[str, bytes] | None = None,
) -> Path:
    """A .keras zip: config.json, metadata.json, model.weights.h5 and ``extra`` members."""
    members = {
        "metadata.json": json.dumps({"keras_version": "3.0.0"}).encode(),
        "config.json": config if isinstance(config, bytes) else json.dumps(config).encode(),
        "model.weights.h5": weights if isinstance(weights, bytes) else h5_bytes(weights),
        **(extra or {}),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def write_h5(path: Path, config: Any, weights: dict[str, tuple[int, ...]] | None = None) -> Path:
    """A legacy .h5 model: model_config attribute plus datasets under model_weights/."""
    weights = (
        {"dense/sequential/dense/kernel": (4, 3), "dense/sequential/dense/bias": (3,)}
        if weights is None
        else weights
    )
    with h5py.File(path, "w") as f:
        if config is not None:
            f.attrs["model_config"] = json.dumps(config)
        group = f.create_group("model_weights")
        for name, shape in weights.items():
            group.create_dataset(name, data=np.zeros(shape, dtype="float32"))
    return path


def inspect(path: Path, max_params: int = 1_000_000, max_file_mb: float = 10.0) -> ModelSummary:
    return inspect_model(path, max_params=max_params, max_file_mb=max_file_mb)


def refusal(path: Path, *names: str, max_params: int = 1_000_000, max_file_mb: float = 10.0) -> str:
    """Inspect ``path`` expecting a refusal; check the message is one line naming ``names``."""
    with pytest.raises(InvalidModelError) as info:
        inspect(path, max_params=max_params, max_file_mb=max_file_mb)
    message = str(info.value)
    assert message and "\n" not in message and "\r" not in message, message
    for name in names:
        assert name in message, f"{name!r} not in {message!r}"
    return message


# --- accepted hand-made models ------------------------------------------------------------


def test_hand_made_keras_sequential_is_accepted_and_summarised(tmp_path: Path) -> None:
    config = sequential(obj("Rescaling", name="rescaling", scale=1 / 255, offset=0.0), dense())
    summary = inspect(write_keras(tmp_path / "model.keras", config))
    assert summary == ModelSummary(
        format="keras",
        class_names=("Sequential", "InputLayer", "Rescaling", "Dense"),
        n_params=DENSE_PARAMS,
        last_activation="softmax",
        has_rescaling=True,
        output_units=3,
        layers=(
            LayerInfo("Rescaling", "rescaling", trainable=True),
            LayerInfo("Dense", "dense", trainable=True),
        ),
        rescaling=((1 / 255, 0.0),),
    )
    assert summary.config == config  # kept for the task's checks.py, not compared


def test_hand_made_h5_sequential_is_accepted_and_summarised(tmp_path: Path) -> None:
    summary = inspect(write_h5(tmp_path / "model.hdf5", sequential(dense(activation="sigmoid"))))
    assert (summary.format, summary.n_params, summary.last_activation) == ("h5", 15, "sigmoid")
    assert not summary.has_rescaling


def test_optimizer_state_is_not_counted_as_parameters(tmp_path: Path) -> None:
    weights = {**DENSE_WEIGHTS, "optimizer/vars/0": (), "optimizer/vars/1": (4, 3)}
    path = write_keras(tmp_path / "model.keras", sequential(dense()), weights)
    assert inspect(path).n_params == DENSE_PARAMS


def test_rescaling_scale_and_offset_are_read_from_the_config(tmp_path: Path) -> None:
    layers = (
        obj("Rescaling", name="to_pm1", scale=2.0, offset=-1.0),
        obj("Rescaling", name="per_channel", scale=[1.0, 2.0], offset=0.0),
        dense(),
    )
    summary = inspect(write_keras(tmp_path / "model.keras", sequential(*layers)))
    assert summary.rescaling == ((2.0, -1.0),)  # a per-channel scale is left out


def _batchnorm(axis: Any) -> dict[str, Any]:
    return obj("BatchNormalization", name="bn", axis=axis, momentum=0.99, epsilon=0.001)


def test_keras2_keras_file_with_a_list_axis_is_refused_naming_keras_2_and_h5(
    tmp_path: Path,
) -> None:
    metadata = {"metadata.json": json.dumps({"keras_version": "2.15.0"}).encode()}
    path = write_keras(
        tmp_path / "model.keras", sequential(_batchnorm([1]), dense()), extra=metadata
    )
    message = refusal(path, "model.keras", "Keras 2.15.0", "'bn'", "model.save('model.h5')")
    assert "from_config" not in message
    odd = {"metadata.json": json.dumps({"keras_version": "2.15\x1b]52;c;aGk=\x07"}).encode()}
    path = write_keras(tmp_path / "odd.keras", sequential(_batchnorm([1]), dense()), extra=odd)
    assert "\x1b" not in refusal(path, "saved by Keras 2 (tf_keras)")


def test_a_list_axis_alone_or_keras2_alone_is_not_refused(tmp_path: Path) -> None:
    keras3 = write_keras(tmp_path / "model.keras", sequential(_batchnorm([1]), dense()))
    assert inspect(keras3).class_names[-2:] == ("BatchNormalization", "Dense")
    metadata = {"metadata.json": json.dumps({"keras_version": "2.15.0"}).encode()}
    int_axis = write_keras(
        tmp_path / "int.keras", sequential(_batchnorm(-1), dense()), extra=metadata
    )
    assert inspect(int_axis).format == "keras"


def test_activation_given_as_keras_function_object_is_accepted(tmp_path: Path) -> None:
    relu = {
        **obj("function", module="keras.activations"),
        "config": "relu",
        "registered_name": "relu",
    }
    config = sequential(dense(name="hidden", activation=relu), obj("Softmax", name="softmax"))
    assert inspect(write_keras(tmp_path / "model.keras", config)).last_activation == "softmax"


def test_top_level_compile_config_with_custom_loss_is_ignored(tmp_path: Path) -> None:
    # load_model(compile=False) never reads it; only serialized code there is refused.
    loss = {"module": None, "class_name": "function", "config": "my_loss", "registered_name": None}
    config = sequential(dense(), compile_config={"loss": loss, "optimizer": "adam"})
    assert inspect(write_keras(tmp_path / "model.keras", config)).n_params == DENSE_PARAMS


def functional(name: str, *layers: dict[str, Any], trainable: bool = True) -> dict[str, Any]:
    """A nested Functional model, as Keras 3 saves an application used as one layer."""
    inp = obj("InputLayer", batch_shape=[None, 4], dtype="float32", name=f"{name}_input")
    return {
        **obj(
            "Functional",
            module="keras.src.models.functional",
            name=name,
            trainable=trainable,
            layers=[inp, *layers],
            input_layers=[f"{name}_input", 0, 0],
            output_layers=[str(layers[-1]["config"]["name"]), 0, 0],
        ),
        "registered_name": "Functional",
    }


def test_output_units_are_read_past_activation_dropout_and_normalization(tmp_path: Path) -> None:
    config = sequential(
        dense(activation=None),
        obj("BatchNormalization", name="bn"),
        obj("Activation", name="act", activation="softmax"),
        obj("Dropout", name="drop", rate=0.1),
    )
    summary = inspect(write_keras(tmp_path / "model.keras", config))
    assert (summary.output_units, summary.last_activation) == (3, "softmax")


def test_output_units_are_unknown_when_no_layer_declares_them(tmp_path: Path) -> None:
    config = sequential(dense(), obj("Flatten", name="flatten"))
    assert inspect(write_keras(tmp_path / "model.keras", config)).output_units is None


def test_output_units_come_from_a_final_nested_model(tmp_path: Path) -> None:
    config = sequential(functional("head", dense(name="inner", activation="sigmoid")))
    summary = inspect(write_keras(tmp_path / "model.keras", config))
    assert (summary.output_units, summary.last_activation) == (3, "sigmoid")


@pytest.mark.parametrize("write", [write_keras, write_h5])
def test_layers_of_a_frozen_nested_model_are_not_trainable(tmp_path: Path, write: Any) -> None:
    base = functional(
        "mobilenetv2_1.00_160",
        obj("Conv2D", name="Conv1", trainable=True),
        obj("BatchNormalization", name="bn_Conv1", trainable=False),
        trainable=False,
    )
    config = sequential(base, obj("Conv2D", name="mine", trainable=False), dense())
    suffix = ".keras" if write is write_keras else ".h5"
    summary = inspect(write(tmp_path / f"model{suffix}", config))
    assert [(i.name, i.trainable, i.within) for i in summary.layers] == [
        ("mobilenetv2_1.00_160", False, ()),
        ("Conv1", False, ("mobilenetv2_1.00_160",)),  # frozen by the model around it
        ("bn_Conv1", False, ("mobilenetv2_1.00_160",)),
        ("mine", False, ()),
        ("dense", True, ()),
    ]


def test_a_trainable_nested_model_keeps_its_layers_own_flags(tmp_path: Path) -> None:
    base = functional(
        "base",
        obj("Conv2D", name="low", trainable=False),
        obj("Conv2D", name="top", trainable=True),
    )
    summary = inspect(write_keras(tmp_path / "model.keras", sequential(base, dense())))
    flags = {i.name: i.trainable for i in summary.layers}
    assert (flags["low"], flags["top"], flags["base"]) == (False, True, True)


def test_a_whole_model_saved_frozen_has_no_trainable_layer(tmp_path: Path) -> None:
    config = sequential(dense())
    config["config"]["trainable"] = False
    summary = inspect(write_keras(tmp_path / "model.keras", config))
    assert [i.trainable for i in summary.layers] == [False]


# --- refused configs ----------------------------------------------------------------------


@pytest.mark.parametrize(("module", "class_name"), [("os", "system"), ("builtins", "exec")])
def test_object_from_a_non_keras_module_is_refused(
    tmp_path: Path, module: str, class_name: str
) -> None:
    evil = obj(class_name, module=module, name="evil", command="touch /tmp/pwned")
    path = write_keras(tmp_path / "model.keras", sequential(evil, dense()))
    refusal(path, f"'{module}'", f"'{class_name}'", "not Keras")


@pytest.mark.parametrize(
    ("module", "class_name"),
    [("keras.config", "enable_unsafe_deserialization"), ("keras.utils", "get_file")],
)
def test_keras_functions_posing_as_layers_are_refused(
    tmp_path: Path, module: str, class_name: str
) -> None:
    evil = obj(class_name, module=module, name="evil", origin="http://127.0.0.1:9/x")
    path = write_keras(tmp_path / "model.keras", sequential(evil, dense()))
    refusal(path, f"'{class_name}'")


def test_custom_registered_object_is_refused(tmp_path: Path) -> None:
    evil = {**dense(name="evil"), "registered_name": "Custom>Evil"}
    refusal(write_keras(tmp_path / "model.keras", sequential(evil)), "'evil'", "'Custom>Evil'")


def test_unregistered_custom_class_is_refused(tmp_path: Path) -> None:
    evil = {**obj("Evil", module=None, name="evil"), "registered_name": "Evil"}
    refusal(
        write_keras(tmp_path / "model.keras", sequential(evil, dense())), "'Evil'", "custom class"
    )


def test_unknown_layer_class_is_refused_in_h5(tmp_path: Path) -> None:
    layer = {"class_name": "MyBlock", "config": {"name": "block"}}
    path = write_h5(tmp_path / "model.h5", sequential(layer, dense()))
    refusal(path, "'block'", "unknown layer class 'MyBlock'")


def test_tfsm_layer_is_refused(tmp_path: Path) -> None:
    tfsm = obj("TFSMLayer", name="tfsm", filepath="/tmp/saved", call_endpoint="serve")
    refusal(write_keras(tmp_path / "model.keras", sequential(tfsm)), "'tfsm'", "TFSMLayer")


def test_string_lookup_with_vocabulary_file_is_refused(tmp_path: Path) -> None:
    lookup = obj("StringLookup", name="lookup", vocabulary="/etc/passwd")
    path = write_keras(tmp_path / "model.keras", sequential(lookup, dense()))
    refusal(path, "'lookup'", "'/etc/passwd'", "vocabulary")


def test_hand_made_lambda_bytecode_is_refused(tmp_path: Path) -> None:
    code = {"class_name": "__lambda__", "config": {"code": "4wEAAAAA", "defaults": None}}
    lam = obj("Lambda", name="my_lambda", function=code, arguments={})
    refusal(
        write_keras(tmp_path / "model.keras", sequential(lam, dense())), "'my_lambda'", "Lambda"
    )


def test_legacy_lambda_function_key_on_another_class_is_refused(tmp_path: Path) -> None:
    sneaky = dense(function=["4wEAAAAA", None, None], function_type="lambda")
    refusal(
        write_h5(tmp_path / "model.h5", sequential(sneaky)), "'dense'", "'function'", "Python code"
    )


def test_lambda_object_nested_as_an_initializer_is_refused(tmp_path: Path) -> None:
    code = {"class_name": "__lambda__", "config": {"value": "4wEAAAAA"}}
    path = write_keras(tmp_path / "model.keras", sequential(dense(bias_initializer=code)))
    refusal(path, "'dense'", "Python lambda")


def test_serialized_python_function_marker_anywhere_is_refused(tmp_path: Path) -> None:
    path = write_keras(tmp_path / "model.keras", sequential(dense(note="__python_function__")))
    refusal(path, "'__python_function__'", "Python code")


def test_serialized_code_in_top_level_compile_config_is_refused(tmp_path: Path) -> None:
    loss = {"class_name": "__lambda__", "config": {"value": "4wEAAAAA"}}
    path = write_keras(tmp_path / "model.keras", sequential(dense(), compile_config={"loss": loss}))
    refusal(path, "compile_config", "Python lambda")


def test_nested_compile_config_from_a_non_keras_module_is_refused(tmp_path: Path) -> None:
    inner = sequential(dense(), compile_config={"optimizer": obj("Evil", module="evilpkg.optim")})
    inner["config"]["name"] = "inner"
    path = write_keras(tmp_path / "model.keras", sequential(inner))
    refusal(path, "'evilpkg.optim'", "'Evil'")


@pytest.mark.parametrize(
    "activation",
    ["my_custom_act", {"module": "mypkg.acts", "class_name": "function", "config": "relu"}, 42],
)
def test_activation_that_is_not_a_builtin_is_refused(tmp_path: Path, activation: Any) -> None:
    path = write_keras(tmp_path / "model.keras", sequential(dense(activation=activation)))
    refusal(path, "'dense'", "activation", "not a built-in Keras activation")


def test_config_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    path = write_keras(tmp_path / "model.keras", dense())
    refusal(path, "config.json", "not a Keras Sequential/Functional model")


def test_config_that_is_not_json_is_refused(tmp_path: Path) -> None:
    refusal(write_keras(tmp_path / "model.keras", b"{not json"), "config.json", "not valid JSON")


def test_absurdly_deep_config_is_refused(tmp_path: Path) -> None:
    deep: Any = dense()
    for _ in range(300):
        deep = {"wrap": deep}
    path = write_keras(tmp_path / "model.keras", sequential(dense(extra=deep)))
    refusal(path, "'dense'", "nested deeper")


def test_newlines_in_hostile_names_stay_on_one_line(tmp_path: Path) -> None:
    evil = obj("Evil\nclass", name="line1\nline2")
    refusal(write_keras(tmp_path / "model.keras", sequential(evil)), "line1\\nline2")


# --- refused archives and files -----------------------------------------------------------


@pytest.mark.parametrize("member", ["../evil", "assets/../../evil", "/etc/evil", "..\\evil"])
def test_zip_member_escaping_the_archive_is_refused(tmp_path: Path, member: str) -> None:
    path = write_keras(tmp_path / "model.keras", sequential(dense()), extra={member: b"x"})
    refusal(path, repr(member), "escaping")


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = write_keras(tmp_path / "model.keras", sequential(dense()))
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf,
        zf.open("assets/zeros", "w") as out,
    ):
        for _ in range(16):
            out.write(bytes(2**20))
    refusal(path, "zip bomb", f"{path.stat().st_size:,}")


def test_keras_without_config_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("model.weights.h5", h5_bytes(DENSE_WEIGHTS))
    refusal(path, "config.json", "model.save('model.keras')")


def test_truncated_hand_made_keras_is_refused(tmp_path: Path) -> None:
    path = write_keras(tmp_path / "model.keras", sequential(dense()))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    refusal(path, "corrupt or truncated zip", "re-save")


def test_corrupt_weights_inside_keras_is_refused(tmp_path: Path) -> None:
    weights = h5_bytes(DENSE_WEIGHTS)[:600]
    refusal(write_keras(tmp_path / "model.keras", sequential(dense()), weights), "model.weights.h5")


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_random_bytes_are_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"model{suffix}"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    refusal(path, "not a Keras model file (.keras zip or .h5)")


def test_truncated_h5_is_refused(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "model.h5", sequential(dense()))
    path.write_bytes(path.read_bytes()[:1000])
    refusal(path, "corrupt or truncated HDF5")


def test_h5_with_weights_only_is_refused(tmp_path: Path) -> None:
    refusal(write_h5(tmp_path / "model.h5", None), "no model_config", "weights only", "model.save(")


def test_h5_external_link_is_refused(tmp_path: Path) -> None:
    path = write_h5(tmp_path / "model.h5", sequential(dense()))
    with h5py.File(path, "a") as f:
        f["model_weights/dense/evil"] = h5py.ExternalLink("/etc/secret.h5", "/data")
    refusal(path, "ExternalLink", "'model_weights/dense/evil'")


def test_external_link_inside_keras_weights_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO(h5_bytes(DENSE_WEIGHTS))
    with h5py.File(buf, "a") as f:
        f["layers/evil"] = h5py.ExternalLink("/etc/secret.h5", "/data")
    path = write_keras(tmp_path / "model.keras", sequential(dense()), buf.getvalue())
    refusal(path, "ExternalLink", "'layers/evil'")


def test_h5_dataset_with_external_storage_is_refused(tmp_path: Path) -> None:
    (tmp_path / "raw.bin").write_bytes(bytes(48))
    path = write_h5(tmp_path / "model.h5", sequential(dense()))
    with h5py.File(path, "a") as f:
        f.create_dataset(
            "model_weights/k", (12,), "f4", external=[(str(tmp_path / "raw.bin"), 0, 48)]
        )
    refusal(path, "'model_weights/k'", "outside the file")


def test_zip_named_h5_and_hdf5_named_keras_are_refused_with_rename_hint(tmp_path: Path) -> None:
    zipped = write_keras(tmp_path / "a.keras", sequential(dense())).rename(tmp_path / "a.h5")
    refusal(zipped, "rename it to model.keras")
    h5 = write_h5(tmp_path / "b.h5", sequential(dense())).rename(tmp_path / "b.keras")
    refusal(h5, "rename it to model.h5")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_empty_file_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"model{suffix}"
    path.touch()
    refusal(path, f"model{suffix}", "empty", "not a Keras model file")


def test_plain_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "my_model").mkdir()
    refusal(tmp_path / "my_model", "my_model", "directory")


def test_saved_model_directory_is_refused_with_the_save_line(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "saved_model.pb").write_bytes(b"\x08\x01")
    refusal(tmp_path / "export", "SavedModel", "model.save('model.keras')")


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    path.write_bytes(bytes(3 * 2**20))
    refusal(path, "3.0 MB", "at most 2 MB", max_file_mb=2)


def test_model_over_the_parameter_limit_is_refused(tmp_path: Path) -> None:
    path = write_keras(tmp_path / "model.keras", sequential(dense()))
    refusal(path, "15 parameters", "at most 10", max_params=10)


@pytest.mark.parametrize("name", ["model.pb", "model.pkl", "model"])
def test_unknown_suffix_is_refused_with_accepted_formats(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"PK\x03\x04")
    refusal(tmp_path / name, name, ".keras, .h5, .hdf5")


def test_missing_file_is_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        inspect(tmp_path / "model.keras")


# --- real Keras models --------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras() -> Any:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def small_cnn(keras: Any) -> Any:
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(2, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_small_cnn_is_accepted_with_keras_param_count(
    tmp_path: Path, keras: Any, suffix: str
) -> None:
    model = small_cnn(keras)
    model.save(tmp_path / f"model{suffix}")
    summary = inspect(tmp_path / f"model{suffix}")
    assert summary.n_params == model.count_params()
    assert summary.last_activation == "softmax"
    assert summary.has_rescaling
    assert summary.class_names[:3] == ("Sequential", "InputLayer", "Rescaling")


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_trained_functional_model_with_add_is_accepted(
    tmp_path: Path, keras: Any, suffix: str
) -> None:
    inputs = keras.Input((6, 6, 3))
    x = keras.layers.BatchNormalization()(keras.layers.Conv2D(2, 3, padding="same")(inputs))
    x = keras.layers.Add()([x, keras.layers.Conv2D(2, 1)(inputs)])
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    model.fit(np.zeros((4, 6, 6, 3)), np.zeros((4, 1)), epochs=1, verbose=0)
    model.save(tmp_path / f"model{suffix}")
    summary = inspect(tmp_path / f"model{suffix}")
    assert summary.n_params == model.count_params()  # optimizer slots excluded
    assert summary.last_activation == "sigmoid"
    assert {"Functional", "Add", "BatchNormalization"} <= set(summary.class_names)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lambda_with_bytecode_is_refused_without_running_it(
    tmp_path: Path, keras: Any, suffix: str
) -> None:
    marker = tmp_path / "MARKER"
    touch = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Lambda(touch, name="touch"), keras.layers.Dense(2)]
    )
    marker.unlink()  # building the model ran the lambda once
    path = tmp_path / f"model{suffix}"
    model.save(path)
    refusal(path, "'touch'", "Lambda layers carry Python code", "Rescaling")
    assert not marker.exists()
    # Control: the file really does carry code that runs when loaded unsafely.
    keras.saving.load_model(path, compile=False, safe_mode=False)
    assert marker.exists()


@pytest.mark.slow
def test_truncated_real_keras_file_is_refused(tmp_path: Path, keras: Any) -> None:
    path = tmp_path / "model.keras"
    small_cnn(keras).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    refusal(path, "model.keras", "corrupt or truncated", "re-save")


@pytest.mark.slow
def test_real_model_over_the_parameter_limit_is_refused(tmp_path: Path, keras: Any) -> None:
    model = small_cnn(keras)
    model.save(tmp_path / "model.keras")
    count = model.count_params()
    limit = count - 1
    refusal(
        tmp_path / "model.keras",
        f"has {count:,} parameters",
        f"at most {limit:,}",
        max_params=limit,
    )


def _as_keras2(path: Path) -> Path:
    """``path`` as Keras 2 (tf_keras 2.15) writes it: BatchNormalization's ``axis`` as a
    one-element list, and ``keras_version`` 2.15.0 in metadata.json."""
    with zipfile.ZipFile(path) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    config = json.loads(members["config.json"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "BatchNormalization":
            layer["config"]["axis"] = [3]
    metadata = {**json.loads(members["metadata.json"]), "keras_version": "2.15.0"}
    members |= {
        "config.json": json.dumps(config).encode(),
        "metadata.json": json.dumps(metadata).encode(),
    }
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.slow
def test_real_keras2_batchnorm_file_is_refused_before_keras_fails_on_it(
    tmp_path: Path, keras: Any
) -> None:
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(2, 3),
            keras.layers.BatchNormalization(name="bn"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.save(tmp_path / "model.keras")
    path = _as_keras2(tmp_path / "model.keras")
    # Control: Keras 3 itself cannot load it, and says something about from_config().
    with pytest.raises(TypeError, match="from_config"):
        keras.saving.load_model(path, compile=False, safe_mode=True)
    refusal(path, "Keras 2.15.0", "tf_keras", "'bn'", "model.h5")
