"""Rock-paper-scissors: CGI hands in 3 classes, 2,520 train and 372 test images (300x300).

Two zip archives of class folders (``rps/`` and ``rps-test-set/``), read at 160x160
(a size MobileNetV2 has ImageNet weights for).
The archives' sha256 are not recorded yet (they need someone with network to measure
them): until then the set is never downloaded, only read from a trusted copy placed in
$GRADER_DATA or the grader's cache (see :mod:`grader.datasets.archive`).
"""

from __future__ import annotations

from grader.datasets.archive import ArchiveSplit, ImageArchive

NAME = "rock_paper_scissors"
ORIGIN = "https://storage.googleapis.com/download.tensorflow.org/data/"
"""Where the archives are published; $GRADER_DATASET_MIRROR replaces it."""
SIZE = (160, 160)
CLASS_NAMES = ("paper", "rock", "scissors")
TRAIN_SHA256: str | None = None
"""sha256 of rps.zip: to be filled in by someone who can download it."""
TEST_SHA256: str | None = None
"""sha256 of rps-test-set.zip: to be filled in by someone who can download it."""


def source(
    *,
    base_url: str | None = None,
    train_sha256: str | None = TRAIN_SHA256,
    test_sha256: str | None = TEST_SHA256,
    max_unpacked: int = 1 << 30,
) -> ImageArchive:
    """The registry's source; tests pass a local server and their own checksums."""
    return ImageArchive(
        NAME,
        title="Rock-paper-scissors",
        origin=ORIGIN,
        files={
            "train": ArchiveSplit("rps.zip", train_sha256, "rps"),
            "test": ArchiveSplit("rps-test-set.zip", test_sha256, "rps-test-set"),
        },
        class_names=CLASS_NAMES,
        size=SIZE,
        max_unpacked=max_unpacked,
        base_url=base_url,
    )
