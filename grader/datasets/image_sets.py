"""The published image sets of the exam's class-folder pattern, as zip archives.

- ``rock_paper_scissors``: rps.zip and rps-test-set.zip; paper, rock, scissors;
  2,520 training and 372 held-out PNGs (300x300), read at 160x160.
- ``horses_or_humans``: horse-or-human.zip and validation-horse-or-human.zip; horses,
  humans; 1,027 and 256 PNGs (300x300), read at 150x150.
- ``cats_vs_dogs``: cats_and_dogs_filtered.zip, whose train/ and validation/ folders are
  the two splits; cats, dogs; 2,000 and 1,000 JPEGs of mixed sizes, read at 150x150.

The sha256 of the first two sets' archives are the ones TensorFlow Datasets publishes
for the same URLs (``tensorflow_datasets/url_checksums``). No published checksum of
cats_and_dogs_filtered.zip was found, so that set is never downloaded: it is read from
a trusted copy placed in $GRADER_DATA, the Keras cache or the grader's cache (see
:mod:`grader.datasets.archive`) until someone records its sha256 here.
"""

from __future__ import annotations

from grader.datasets.archive import ArchiveSplit, ImageArchive

TF_DATA = "https://storage.googleapis.com/download.tensorflow.org/data/"
"""Where TensorFlow's course material publishes its archives; $GRADER_DATASET_MIRROR
replaces it."""
MLEDU = "https://storage.googleapis.com/mledu-datasets/"

ROCK_PAPER_SCISSORS = ImageArchive(
    "rock_paper_scissors",
    title="Rock-paper-scissors",
    origin=TF_DATA,
    files={
        "train": ArchiveSplit(
            "rps.zip", "c2403444395842ad04c53612bad54b574443eae17a0723117a2ff87b9d72194f", "rps"
        ),
        "test": ArchiveSplit(
            "rps-test-set.zip",
            "c27ab9fa43ce40b2e453de711365b477f4424586edf0388116674fd320f07503",
            "rps-test-set",
        ),
    },
    class_names=("paper", "rock", "scissors"),
    size=(160, 160),  # a size MobileNetV2 has ImageNet weights for
)

HORSES_OR_HUMANS = ImageArchive(
    "horses_or_humans",
    title="Horses or humans",
    origin=TF_DATA,
    files={
        "train": ArchiveSplit(
            "horse-or-human.zip",
            "e2e6f70d3d549c5dd10a57165e55af253ee66ad750403f95c0fb76bb943633a9",
            "",
        ),
        "test": ArchiveSplit(
            "validation-horse-or-human.zip",
            "ae5fff2f4f5554791f05358108e2e05d9801b191f1896ea101402f0e7f6c32c0",
            "",
        ),
    },
    class_names=("horses", "humans"),
    size=(150, 150),
)

CATS_VS_DOGS = ImageArchive(
    "cats_vs_dogs",
    title="Cats vs dogs (filtered)",
    origin=MLEDU,
    files={
        "train": ArchiveSplit("cats_and_dogs_filtered.zip", None, "cats_and_dogs_filtered/train"),
        "test": ArchiveSplit(
            "cats_and_dogs_filtered.zip", None, "cats_and_dogs_filtered/validation"
        ),
    },
    class_names=("cats", "dogs"),
    size=(150, 150),
)

ALL = (ROCK_PAPER_SCISSORS, HORSES_OR_HUMANS, CATS_VS_DOGS)
