"""Task 03 reference: a small CNN with a single sigmoid unit, trained on arrays."""

import sys
from pathlib import Path

import keras

from grader.datasets import load_arrays


def solution_model() -> keras.Model:
    keras.utils.set_random_seed(7)
    x_train, y_train = load_arrays("shapes_binary", "train")
    x_train = x_train.astype("float32") / 255.0

    model = keras.Sequential(
        [
            keras.Input(shape=(64, 64, 3)),
            keras.layers.Conv2D(16, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    model.fit(
        x_train,
        y_train,
        epochs=12,
        batch_size=32,
        validation_split=0.1,
        callbacks=[stop],
        verbose=2,
    )
    return model


if __name__ == "__main__":
    model = solution_model()
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("model.keras")
    model.save(target)
    print(f"saved {target}")
