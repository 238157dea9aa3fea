"""Student names as an LMS writes them, and the folder-safe slugs made from them."""

from __future__ import annotations

import re

import pytest

from grader.instructors.names import LmsName, lms_name, slug, slugs, unsafe


@pytest.mark.parametrize("name", ["Jo Smith", "José Ñúñez", "o'brien", "李雷", "Smith, Jo"])
def test_real_names_are_safe(name: str) -> None:
    assert unsafe(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a/b", "path separator"),
        ("a\\b", "path separator"),
        ("..", "'..'"),
        (".hidden", "starts with a dot"),
        ("bell\x07", "U+0007"),
        ("=1+2", "formula"),
        ("   ", "empty"),
        ("x" * 129, "longer than 128"),
    ],
)
def test_unsafe_names_say_why(name: str, why: str) -> None:
    assert why in str(unsafe(name))


def test_slugs_are_ascii_without_spaces_or_quotes() -> None:
    assert slug("Jo Smith") == "jo-smith"
    assert slug("José Ñúñez") == "jose-nunez"
    assert slug("o'brien") == "obrien"
    assert slug("李雷") == "student"
    for name in ("Jo Smith", "José Ñúñez", "o'brien", 'Ann "Nan" Lee', "Smith, Jo"):
        assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", slug(name)), slug(name)


def test_slugs_are_unique_even_when_two_names_slug_the_same() -> None:
    made = slugs(["Jo Smith", "jo smith", "Jo  Smith!", "李雷", "王芳"])
    assert made == {
        "Jo Smith": "jo-smith",
        "jo smith": "jo-smith-2",
        "Jo  Smith!": "jo-smith-3",
        "李雷": "student",
        "王芳": "student-2",
    }


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("smithjo_1007_991_model", LmsName("smithjo", canvas_id="1007")),
        ("smithjo_LATE_1007_991_model-1", LmsName("smithjo", canvas_id="1007", late=True)),
        ("Jo Smith_12345_assignsubmission_file_", LmsName("Jo Smith", participant_id="12345")),
        ("José Ñúñez_7_assignsubmission_file", LmsName("José Ñúñez", participant_id="7")),
        ("jo_smith", LmsName("jo_smith")),
        ("Jo Smith", LmsName("Jo Smith")),
    ],
)
def test_lms_download_names_give_their_ids(name: str, want: LmsName) -> None:
    assert lms_name(name) == want
