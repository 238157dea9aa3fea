"""Task 05 reference: three Conv/BatchNorm blocks with light augmentation (about 75%)."""

import sys
from pathlib import Path

import keras

from grader.datasets import load_arrays


def solution_model() -> keras.Model:
    keras.utils.set_random_seed(7)
    x_train, y_train = load_arrays("cifar10", "train")
    x_train = x_train.astype("float32") / 255.0

    def block(filters: int) -> list[keras.layers.Layer]:
        return [
            keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Dropout(0.2),
        ]

    model = keras.Sequential(
        [
            keras.Input(shape=(32, 32, 3)),
            keras.layers.RandomFlip("horizontal"),
            keras.layers.RandomTranslation(0.1, 0.1),
            *block(32),
            *block(64),
            *block(128),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.4),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = keras.callbacks.EarlyStopping(patience=4, restore_best_weights=True)
    model.fit(
        x_train,
        y_train,
        epochs=30,
        batch_size=64,
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
