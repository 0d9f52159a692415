"""eval-gate: a CI quality gate for computer-vision models evaluated on Roboflow."""

__version__ = "0.1.0"
