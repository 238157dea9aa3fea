"""Task 06 reference: frozen MobileNetV2 features, a new head, then fine-tuning the top."""

import sys
from pathlib import Path

import keras

from grader.datasets import load_arrays

SIZE = (160, 160, 3)


def solution_model() -> keras.Model:
    keras.utils.set_random_seed(7)
    x_train, y_train = load_arrays("rock_paper_scissors", "train")
    x_train = x_train.astype("float32")  # raw 0-255: the model rescales

    base = keras.applications.MobileNetV2(input_shape=SIZE, include_top=False, weights="imagenet")
    base.trainable = False

    inputs = keras.Input(shape=SIZE)
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = keras.layers.RandomFlip("horizontal")(x)
    x = keras.layers.RandomRotation(0.1)(x)
    x = base(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs)

    # Phase 1: train only the new head on frozen ImageNet features.
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=3, batch_size=32, validation_split=0.1, verbose=2)

    # Phase 2: unfreeze the top of the base and fine-tune slowly (recompile after).
    base.trainable = True
    for layer in base.layers[:-30]:
        layer.trainable = False
    model.compile(
        optimizer=keras.optimizers.Adam(1e-5),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=2, batch_size=32, validation_split=0.1, verbose=2)
    return model


if __name__ == "__main__":
    model = solution_model()
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("model.keras")
    model.save(target)
    print(f"saved {target}")
