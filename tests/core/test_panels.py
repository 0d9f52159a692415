"""The panels' parsers (confusion-matrix, performance-by-class, image-predictions): the
documented shapes, hostile shapes, and properties over generated matrices and documents."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate.core.panels import (
    BACKGROUND,
    MAX_CLASSES,
    MAX_COUNT,
    MAX_IMAGES,
    ImageCounts,
    ImagePage,
    parse_confusion_matrix,
    parse_image_page,
    parse_performance_by_class,
    stitch_image_pages,
)
from gate.core.results import Malformed, MalformedResults, Missing

# The example answer of Roboflow's docs.
DOC_MATRIX = {
    "split": "test",
    "confidenceThreshold": 0.2,
    "classes": ["Car-rims", "music-note", "background"],
    "matrix": [[20, 0, 0], [0, 0, 0], [80, 0, 0]],
}
DOC_PERFORMANCE = {
    "taskType": "object-detection-like",
    "split": "test",
    "classes": [
        {
            "className": "Car-rims",
            "map50": 0.91,
            "map50_95": 0.7,
            "map75": 0.8,
            "precision": 0.2,
            "recall": 1.0,
            "f1": 0.333333,
            "optimalThreshold": 0.35,
        },
        {
            "className": "music-note",
            "map50": None,
            "map50_95": None,
            "map75": None,
            "precision": None,
            "recall": None,
            "f1": None,
            "optimalThreshold": None,
        },
    ],
}


def image(image_id: str, tp: Any = 1, fp: Any = 0, fn: Any = 0) -> dict[str, Any]:
    return {
        "imageId": image_id,
        "imageName": f"{image_id}.jpg",
        "split": "test",
        "augmentations": [],
        "cluster": {"id": 3, "embedding2D": [0.1, -0.4]},
        "stats": {"truePositives": tp, "falsePositives": fp, "falseNegatives": fn, "precision": 1},
    }


def page(images: list[dict[str, Any]], *, total: Any = None, offset: Any = 0) -> dict[str, Any]:
    return {
        "split": "test",
        "confidenceThreshold": 0.2,
        "totalImages": len(images) if total is None else total,
        "offset": offset,
        "limit": 1000,
        "images": images,
    }


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "\r" not in text
    return text


# --------------------------------------------------------------------------- confusion matrix


def test_the_docs_example_matrix_gives_precision_0_2_and_recall_1():
    matrix = parse_confusion_matrix(DOC_MATRIX, "ev1", "test")
    assert matrix.classes == ("Car-rims", "music-note", BACKGROUND)
    assert matrix.confidence == 0.2
    tp, fp, fn = matrix.micro_counts()
    assert (tp, fp, fn) == (20, 80, 0)
    assert tp / (tp + fp) == pytest.approx(0.2)
    assert tp / (tp + fn) == pytest.approx(1.0)


def test_support_is_the_row_sum_and_missing_for_an_unknown_class_or_background():
    matrix = parse_confusion_matrix(
        {"classes": ["a", "b", BACKGROUND], "matrix": [[5, 2, 1], [3, 4, 0], [7, 1, 0]]},
        "ev1",
        "valid",
    )
    assert matrix.support("a") == 8
    assert matrix.support("b") == 7
    absent = matrix.support("zebra")
    assert absent == Missing("class 'zebra' is not in the confusion matrix of split 'valid'")
    assert isinstance(matrix.support(BACKGROUND), Missing)
    assert matrix.confidence is None  # not answered: unknown, not made up
    # tp: 5 + 4; fp: columns a and b (5+3+7 + 2+4+1) - 9; fn: rows a and b (8 + 7) - 9.
    assert matrix.micro_counts() == (9, 13, 6)


def test_a_matrix_of_background_only_has_no_counts():
    matrix = parse_confusion_matrix({"classes": [BACKGROUND], "matrix": [[3]]}, "e", "test")
    assert matrix.micro_counts() == (0, 0, 0)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"matrix": [[20, 0, 0], [0, 0, 0]]}, "has 2 rows for 3 classes"),
        ({"matrix": [[20, 0], [0, 0, 0], [80, 0, 0]]}, "row 0 ('Car-rims') has 2 cells"),
        ({"matrix": [[20, 0, 0], None, [80, 0, 0]]}, "row 1 ('music-note') has None"),
        ({"matrix": [[20, -1, 0], [0, 0, 0], [80, 0, 0]]}, "cell [0][1] is -1"),
        ({"matrix": [[20, True, 0], [0, 0, 0], [80, 0, 0]]}, "cell [0][1] is True"),
        ({"matrix": [[20, 1.0, 0], [0, 0, 0], [80, 0, 0]]}, "cell [0][1] is 1.0"),
        ({"matrix": [[20, 0, 0], [0, math.nan, 0], [80, 0, 0]]}, "cell [1][1] is nan"),
        ({"matrix": [[20, 0, 0], [0, 0, "3"], [80, 0, 0]]}, "cell [1][2] is '3'"),
        ({"matrix": [[MAX_COUNT, 0, 0], [0, 0, 0], [80, 0, 0]]}, "cell [0][0] is 9007199254740992"),
        ({"matrix": [[10**5000, 0, 0], [0, 0, 0], [0, 0, 0]]}, "more than 100 digits"),
        ({"matrix": {"0": [1]}}, "has no 'matrix' list"),
        ({"classes": "a,b"}, "has no 'classes' list"),
        ({"classes": ["Car-rims", "background", "music-note"]}, "'background' class not last"),
        ({"classes": ["Car-rims", "music-note", "other"]}, "'background' class missing"),
        ({"classes": ["a", "a", "background"]}, "names class 'a' twice"),
        ({"classes": ["a", "", "background"]}, "class #1 = ''"),
        ({"classes": ["a", 7, "background"]}, "class #1 = 7"),
        ({"classes": [], "matrix": []}, "has no classes"),
        ({"split": "valid"}, "answered split 'valid', not 'test' as asked"),
        ({"confidenceThreshold": 20}, "confidenceThreshold 20"),
        ({"confidenceThreshold": math.nan}, "confidenceThreshold nan"),
        ({"confidenceThreshold": "0.2"}, "confidenceThreshold '0.2'"),
    ],
)
def test_a_wrong_confusion_matrix_is_refused_in_one_line(change, expected):
    with pytest.raises(MalformedResults) as caught:
        parse_confusion_matrix({**DOC_MATRIX, **change}, "ev1", "test")
    message = one_line(caught.value)
    assert message.startswith("the confusion matrix of eval ev1 (split test) ")
    assert expected in message
    assert caught.value.eval_id == "ev1"


def test_a_confusion_matrix_that_is_not_an_object_is_refused():
    with pytest.raises(MalformedResults, match="is not a JSON object"):
        parse_confusion_matrix([DOC_MATRIX], "ev1", "test")


def test_more_than_2000_classes_are_refused_before_reading_the_matrix():
    classes = [f"c{i}" for i in range(MAX_CLASSES)] + [BACKGROUND]
    with pytest.raises(MalformedResults, match="2,001 classes; eval-gate reads at most 2,000"):
        parse_confusion_matrix({"classes": classes, "matrix": []}, "ev1", "test")


def test_a_2000_class_matrix_is_read():
    size = MAX_CLASSES
    rows = [[0] * size for _ in range(size)]
    for i in range(size):
        rows[i][i] = 1
    classes = [f"c{i}" for i in range(size - 1)] + [BACKGROUND]
    matrix = parse_confusion_matrix({"classes": classes, "matrix": rows}, "ev1", "test")
    assert matrix.micro_counts() == (size - 1, 0, 0)


def test_a_class_name_with_a_newline_stays_on_one_line_in_messages():
    data = {**DOC_MATRIX, "classes": ["a\nb", "a\nb", BACKGROUND]}
    with pytest.raises(MalformedResults) as caught:
        parse_confusion_matrix(data, "ev1", "test")
    assert "'a\\nb'" in one_line(caught.value)
    matrix = parse_confusion_matrix(DOC_MATRIX, "ev1", "test")
    missing = matrix.support("x\ny")
    assert isinstance(missing, Missing) and "\n" not in missing.reason


def _matrices(max_size: int = 6) -> st.SearchStrategy[list[list[int]]]:
    return st.integers(1, max_size).flatmap(
        lambda n: st.lists(
            st.lists(st.integers(0, 10**6), min_size=n, max_size=n), min_size=n, max_size=n
        )
    )


@settings(max_examples=200, deadline=None)
@given(_matrices())
def test_micro_counts_match_a_cell_by_cell_count(rows):
    """Oracle: each cell counted by what it is (a foreground hit; a foreground prediction
    that is not a hit; a foreground object that is not hit), not by row and column sums."""
    size = len(rows)
    classes = [f"c{i}" for i in range(size - 1)] + [BACKGROUND]
    matrix = parse_confusion_matrix({"classes": classes, "matrix": rows}, "e", "test")
    tp = fp = fn = 0
    for actual in range(size):
        for predicted in range(size):
            cell = rows[actual][predicted]
            foreground_actual = actual < size - 1
            foreground_predicted = predicted < size - 1
            if actual == predicted and foreground_actual:
                tp += cell
                continue
            if foreground_predicted:
                fp += cell
            if foreground_actual:
                fn += cell
    assert matrix.micro_counts() == (tp, fp, fn)
    assert sum(matrix.support(name) for name in classes[:-1]) == tp + fn  # type: ignore[misc]


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    classes=st.one_of(_JSON, st.lists(st.sampled_from(["a", "b", BACKGROUND, "", 3]), max_size=4)),
    matrix=st.one_of(_JSON, _matrices(4), st.lists(st.lists(_JSON, max_size=4), max_size=4)),
    extra=st.dictionaries(st.sampled_from(["split", "confidenceThreshold"]), _JSON),
)
def test_any_confusion_answer_is_read_or_refused_in_one_line(classes, matrix, extra):
    data = {"classes": classes, "matrix": matrix, **extra}
    try:
        parsed = parse_confusion_matrix(data, "e", "test")
    except MalformedResults as exc:
        one_line(exc)
        return
    # Whatever was read is what the docs promise.
    assert parsed.classes[-1] == BACKGROUND
    assert len(set(parsed.classes)) == len(parsed.classes)
    assert all(len(row) == len(parsed.classes) for row in parsed.rows)
    assert all(type(cell) is int and 0 <= cell < MAX_COUNT for row in parsed.rows for cell in row)
    assert all(count >= 0 for count in parsed.micro_counts())


# --------------------------------------------------------------------------- performance by class


def test_performance_by_class_reads_the_documented_shape():
    found = parse_performance_by_class(DOC_PERFORMANCE, "ev1", "test")
    assert found.value("precision", "Car-rims") == 0.2
    assert found.value("recall", "Car-rims") == 1.0
    assert found.value("f1", "Car-rims") == pytest.approx(0.333333)
    assert found.value("map50", "Car-rims") == 0.91
    assert found.value("optimalThreshold", "Car-rims") == 0.35
    assert found.value("precision", "music-note") == Missing(
        "'precision' is null for class 'music-note' in performance-by-class of split 'test'"
    )
    absent = found.value("precision", "zebra")
    assert isinstance(absent, Missing) and "class 'zebra' is absent" in absent.reason
    assert isinstance(found.value("iou", "Car-rims"), Missing)
    assert list(found.classes) == ["Car-rims", "music-note"]


def test_semantic_segmentation_classes_carry_iou():
    data = {
        "taskType": "semantic-segmentation",
        "split": "valid",
        "classes": [{"className": "road", "iou": 0.8, "precision": 0.9, "recall": 0.7}],
    }
    found = parse_performance_by_class(data, "ev1", "valid")
    assert found.value("iou", "road") == 0.8
    assert isinstance(found.value("map50", "road"), Missing)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (math.nan, "'precision' is nan"),
        (math.inf, "'precision' is inf"),
        ("0.9", "'precision' is not a number"),
        (True, "'precision' is not a number"),
        (1.5, "'precision' = 1.5 is outside [0, 1]"),
        (-0.1, "'precision' = -0.1 is outside [0, 1]"),
        (10**400, "outside [0, 1]"),
    ],
)
def test_a_bad_class_value_is_malformed_never_a_number(raw, expected):
    data = {"classes": [{"className": "car", "precision": raw, "recall": 0.5}]}
    found = parse_performance_by_class(data, "ev1", "test")
    value = found.value("precision", "car")
    assert isinstance(value, Malformed)
    assert expected in value.reason
    assert "for class 'car'" in value.reason
    assert found.value("recall", "car") == 0.5


def test_a_class_named_twice_is_malformed_and_only_that_class():
    data = {
        "classes": [
            {"className": "car", "precision": 0.9},
            {"className": "bus", "precision": 0.7},
            {"className": "car", "precision": 0.1},
        ]
    }
    found = parse_performance_by_class(data, "ev1", "test")
    twice = found.value("precision", "car")
    assert isinstance(twice, Malformed)
    assert twice.reason == "class 'car' appears twice in performance-by-class of split 'test'"
    assert found.value("precision", "bus") == 0.7


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "is not a JSON object"),
        ({"classes": None}, "has no 'classes' list"),
        ({"classes": {"car": {}}}, "has no 'classes' list"),
        ({"classes": [None]}, "has classes[0] = None, expected an object"),
        ({"classes": [{"precision": 0.5}]}, "has classes[0] with className None"),
        ({"classes": [{"className": ""}]}, "has classes[0] with className ''"),
        ({"split": "train", "classes": []}, "answered split 'train', not 'test' as asked"),
        ({"classes": [{"className": f"c{i}"} for i in range(MAX_CLASSES + 1)]}, "2,001 classes"),
    ],
)
def test_a_wrong_performance_answer_is_refused_in_one_line(data, expected):
    with pytest.raises(MalformedResults) as caught:
        parse_performance_by_class(data, "ev1", "test")
    message = one_line(caught.value)
    assert message.startswith("performance-by-class of eval ev1 (split test) ")
    assert expected in message


@settings(max_examples=300, deadline=None)
@given(
    entries=st.one_of(
        _JSON,
        st.lists(
            st.one_of(
                _JSON,
                st.fixed_dictionaries(
                    {"className": st.sampled_from(["a", "b", "", 1])},
                    optional={"precision": _JSON, "recall": _JSON},
                ),
            ),
            max_size=5,
        ),
    )
)
def test_any_performance_value_read_is_a_finite_fraction(entries):
    try:
        found = parse_performance_by_class({"classes": entries}, "e", "test")
    except MalformedResults as exc:
        one_line(exc)
        return
    for name in ("a", "b", "c"):
        for metric in ("precision", "recall"):
            value = found.value(metric, name)
            if isinstance(value, float):
                assert math.isfinite(value) and 0.0 <= value <= 1.0
                raws = [e for e in entries if isinstance(e, dict) and e.get("className") == name]
                assert len(raws) == 1  # a class named twice never yields a number
                assert value == raws[0][metric]
            else:
                assert isinstance(value, Missing | Malformed)


# --------------------------------------------------------------------------- image predictions


def test_an_image_page_reads_the_documented_shape():
    found = parse_image_page(
        page([image("i1", 3, 1, 0), image("i2", 0, 0, 2)], total=5, offset=0), "ev1"
    )
    assert found == ImagePage(
        total=5,
        offset=0,
        images=(ImageCounts("i1", 3, 1, 0), ImageCounts("i2", 0, 0, 2)),
        confidence=0.2,
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], "is not a JSON object"),
        (page([], total=-1), "has totalImages -1"),
        (page([], total=True), "has totalImages True"),
        (page([], total=2.0), "has totalImages 2.0"),
        (page([], total=MAX_IMAGES + 1), "more than 100,000 images"),
        (page([], total=10**30), "more than 100,000 images"),
        (page([], offset=-5), "has offset -5"),
        (page([], offset="0"), "has offset '0'"),
        ({**page([]), "images": None}, "has no 'images' list"),
        (page([None], total=1), "has images[0] = None"),
        (page([{**image("x"), "imageId": ""}], total=1), "images[0] with imageId ''"),
        (page([{**image("x"), "imageId": 12}], total=1), "images[0] with imageId 12"),
        (page([{**image("x"), "stats": None}], total=1), "image 'x' without a 'stats' object"),
        (page([image("x", tp=1.0)], total=1), "image 'x' with stats.truePositives = 1.0"),
        (page([image("x", fp=True)], total=1), "image 'x' with stats.falsePositives = True"),
        (page([image("x", fn=math.nan)], total=1), "image 'x' with stats.falseNegatives = nan"),
        (page([image("x", fn=-1)], total=1), "image 'x' with stats.falseNegatives = -1"),
        (page([image("x", fn=MAX_COUNT)], total=1), "stats.falseNegatives = 9007199254740992"),
        (
            page([{**image("x"), "stats": {"truePositives": 1, "falsePositives": 0}}], total=1),
            "image 'x' with stats.falseNegatives = None",
        ),
    ],
)
def test_a_wrong_image_page_is_refused_naming_the_image_and_field(data, expected):
    with pytest.raises(MalformedResults) as caught:
        parse_image_page(data, "ev1")
    message = one_line(caught.value)
    assert message.startswith("image-predictions of eval ev1 ")
    assert expected in message


def _pages(counts: list[int], total: int, *, size: int = 2) -> list[ImagePage]:
    pages = []
    start = 0
    for n in counts:
        images = tuple(ImageCounts(f"img{start + k}", 1, 0, 0) for k in range(n))
        pages.append(ImagePage(total=total, offset=start, images=images))
        start += size
    return pages


def test_pages_are_stitched_in_offset_order():
    pages = _pages([2, 2, 1], total=5)
    stitched = stitch_image_pages(reversed(pages), "ev1", "test")
    assert [i.image_id for i in stitched.images] == [f"img{k}" for k in range(5)]
    assert stitch_image_pages([], "ev1", "test").images == ()


def test_an_image_seen_twice_is_refused():
    pages = _pages([2, 2], total=4)
    pages[1] = ImagePage(4, 2, (ImageCounts("img3", 0, 0, 0), ImageCounts("img1", 0, 0, 0)))
    with pytest.raises(MalformedResults, match="lists image 'img1' twice"):
        stitch_image_pages(pages, "ev1", "test")


def test_a_short_page_stops_the_images_short_of_the_total():
    with pytest.raises(MalformedResults) as caught:
        stitch_image_pages(_pages([2, 1, 1], total=6), "ev1", "test")
    assert str(caught.value) == (
        "image-predictions of eval ev1 stopped at 4 of 6 images (split test)"
    )


def test_pages_that_disagree_on_the_total_or_overshoot_it_are_refused():
    pages = _pages([2, 2], total=4)
    pages[1] = ImagePage(5, 2, pages[1].images)
    with pytest.raises(MalformedResults, match="changed totalImages from 4 to 5"):
        stitch_image_pages(pages, "ev1", "test")
    with pytest.raises(MalformedResults, match="gave 4 images but totalImages is 3"):
        stitch_image_pages(_pages([2, 2], total=3), "ev1", "test")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            _JSON,
            st.fixed_dictionaries(
                {"imageId": st.sampled_from(["a", "b", "", None])},
                optional={
                    "stats": st.fixed_dictionaries(
                        {},
                        optional={
                            k: st.one_of(st.integers(-2, 2**54), _JSON)
                            for k in ("truePositives", "falsePositives", "falseNegatives")
                        },
                    )
                },
            ),
        ),
        max_size=4,
    ),
    st.one_of(st.integers(-1, MAX_IMAGES + 1), _JSON),
)
def test_any_image_page_is_read_or_refused_in_one_line(images, total):
    data = json.loads(json.dumps({"totalImages": total, "offset": 0, "images": images}))
    try:
        found = parse_image_page(data, "e")
    except MalformedResults as exc:
        one_line(exc)
        return
    assert 0 <= found.total <= MAX_IMAGES
    for counts in found.images:
        assert counts.image_id
        for value in (counts.tp, counts.fp, counts.fn):
            assert type(value) is int and 0 <= value < MAX_COUNT


def test_pages_that_disagree_on_the_confidence_threshold_are_refused():
    pages = _pages([2, 2], total=4)
    pages[0] = replace(pages[0], confidence=0.2)
    pages[1] = replace(pages[1], confidence=0.5)
    with pytest.raises(MalformedResults, match=r"changed confidenceThreshold from 0\.2 to 0\.5"):
        stitch_image_pages(pages, "ev1", "test")
    pages[1] = replace(pages[1], confidence=None)  # a page that does not say it: the first's
    assert stitch_image_pages(pages, "ev1", "test").confidence == 0.2
