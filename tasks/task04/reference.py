"""Task 04 reference: Conv/BatchNorm/MaxPool blocks with augmentation, from class folders."""

import sys
import tempfile
from pathlib import Path

import keras

from grader.datasets import export_train


def solution_model() -> keras.Model:
    keras.utils.set_random_seed(7)
    data_dir = export_train("shapes", Path(tempfile.gettempdir()) / "grader-shapes")
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        data_dir,
        image_size=(64, 64),
        batch_size=32,
        validation_split=0.15,
        subset="both",
        seed=7,
    )

    def block(filters: int) -> list[keras.layers.Layer]:
        return [
            keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
            keras.layers.BatchNormalization(momentum=0.9),
            keras.layers.Activation("relu"),
            keras.layers.MaxPooling2D(),
        ]

    model = keras.Sequential(
        [
            keras.Input(shape=(64, 64, 3)),
            keras.layers.RandomFlip("horizontal_and_vertical"),
            keras.layers.Rescaling(1.0 / 255),
            *block(32),
            *block(32),
            *block(64),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    stop = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    model.fit(train_ds, validation_data=val_ds, epochs=10, callbacks=[stop], verbose=2)
    return model


if __name__ == "__main__":
    model = solution_model()
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("model.keras")
    model.save(target)
    print(f"saved {target}")
