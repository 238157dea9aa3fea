"""Task 02 reference: a small two-block CNN; MNIST is easier than Fashion-MNIST."""

import sys
from pathlib import Path

import keras

from grader.datasets import load_arrays


def solution_model() -> keras.Model:
    keras.utils.set_random_seed(7)
    x_train, y_train = load_arrays("mnist", "train")
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255.0

    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=6, batch_size=128, validation_split=0.1, verbose=2)
    return model


if __name__ == "__main__":
    model = solution_model()
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("model.keras")
    model.save(target)
    print(f"saved {target}")
