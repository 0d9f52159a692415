"""Write the example rim detector's saved evaluations (examples/panels/results/rimdet-v*.json):
its map-results (those of examples/results/, but for a rare class) with the panels beyond them:
a confusion matrix, performance by class and per-image counts of the test split, made up but
consistent (seeded: the same files every run).

    python examples/panels/make_panels.py

Both models see the same 300 test images; an object is found by a model when a draw shared by
both models (how hard the object is) falls under that model's rate for its class, so the two
models miss mostly the same objects, as real models do. The newer model finds a little fewer.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
CLASSES = ("Car-rims", "hub|cap", "lug nut `M12`", "<spare> tire")
WEIGHTS = (0.40, 0.20, 0.385, 0.015)  # how often each class occurs
FOUND = {  # per model: the rate at which it finds an object of each class
    "rimdet-v1": (0.93, 0.90, 0.88, 0.90),
    "rimdet-v2": (0.925, 0.885, 0.85, 0.55),
}
FALSE_POSITIVES = {"rimdet-v1": 0.35, "rimdet-v2": 0.38}  # per image, on average
IMAGES = 300
SEED = 7


def _objects(rng: random.Random) -> list[list[tuple[int, float]]]:
    """Per image, its objects: (class index, how hard: a draw both models share)."""
    return [
        [
            (rng.choices(range(len(CLASSES)), WEIGHTS)[0], rng.random())
            for _ in range(rng.randint(2, 6))
        ]
        for _ in range(IMAGES)
    ]


def _panels(model: str, objects: list[list[tuple[int, float]]], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)  # noqa: S311 - reproducible example data, not security
    size = len(CLASSES) + 1
    matrix = [[0] * size for _ in range(size)]
    images = []
    for index, image in enumerate(objects):
        tp = fn = 0
        for cls, hardness in image:
            if hardness < FOUND[model][cls]:
                tp += 1
                matrix[cls][cls] += 1
            else:
                fn += 1
                matrix[cls][size - 1] += 1
        fp = sum(1 for _ in range(4) if rng.random() < FALSE_POSITIVES[model] / 4)
        for _ in range(fp):
            matrix[size - 1][rng.choices(range(len(CLASSES)), WEIGHTS)[0]] += 1
        images.append(
            {
                "imageId": f"img-{index:04d}",
                "imageName": f"rims_{index:04d}.jpg",
                "split": "test",
                "augmentations": [],
                "stats": {"truePositives": tp, "falsePositives": fp, "falseNegatives": fn},
            }
        )
    classes = []
    for k, name in enumerate(CLASSES):
        tp = matrix[k][k]
        predicted = sum(row[k] for row in matrix)
        actual = sum(matrix[k])
        precision = round(tp / predicted, 4) if predicted else None
        recall = round(tp / actual, 4) if actual else None
        f1 = (
            round(2 * precision * recall / (precision + recall), 4)
            if precision and recall
            else None
        )
        classes.append(
            {
                "className": name,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "optimalThreshold": 0.35,
            }
        )
    return {
        "confusion-matrix": {
            "test": {
                "split": "test",
                "confidenceThreshold": 0.2,
                "classes": [*CLASSES, "background"],
                "matrix": matrix,
            }
        },
        "performance-by-class": {
            "test": {"taskType": "object-detection-like", "split": "test", "classes": classes}
        },
        "image-predictions": {
            "test": {
                "split": "test",
                "confidenceThreshold": 0.2,
                "totalImages": len(images),
                "offset": 0,
                "limit": len(images),
                "images": images,
            }
        },
    }


def main() -> None:
    objects = _objects(random.Random(SEED))  # noqa: S311 - as in _panels
    for offset, model in enumerate(FOUND):
        path = RESULTS / f"{model}.json"
        saved = json.loads(path.read_text())
        map_results = saved.get("map-results", saved)
        document = {"map-results": map_results, **_panels(model, objects, SEED + 1 + offset)}
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
