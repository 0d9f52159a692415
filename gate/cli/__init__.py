"""The command line face: `eval-gate check | validate | schema | serve`."""
