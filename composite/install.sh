#!/usr/bin/env bash
# The composite action's install step: this action's own eval-gate (the source the runner
# checked out with the action, one folder up) into a private venv, with the same pinned
# dependencies as the Docker image (docker/requirements.txt, all --no-deps, then `pip check`).
# Linux, macOS and Windows (Git Bash) alike. Writes `python=<the venv's interpreter>` to
# GITHUB_OUTPUT. Reuses the venv when the same action source was installed earlier in the job.
#
# Environment: EVAL_GATE_SETUP_PYTHON (a Python 3.11+, from actions/setup-python),
# EVAL_GATE_SOURCE (the action's repository root), RUNNER_TEMP, GITHUB_OUTPUT.
set -euo pipefail

fail() { echo "::error title=eval-gate install::$*"; exit 1; }

python=${EVAL_GATE_SETUP_PYTHON:-}
source_dir=${EVAL_GATE_SOURCE:-}
[ -n "$python" ] || fail "no Python to install with (EVAL_GATE_SETUP_PYTHON is empty)"
[ -f "$source_dir/pyproject.toml" ] && [ -f "$source_dir/docker/requirements.txt" ] \
  || fail "eval-gate's source is not at '$source_dir' (pyproject.toml, docker/requirements.txt)"
[ -n "${RUNNER_TEMP:-}" ] && [ -n "${GITHUB_OUTPUT:-}" ] \
  || fail "RUNNER_TEMP and GITHUB_OUTPUT must be set (run as a step of a GitHub Actions job)"

# One venv per action source: two uses of the same version share it, two versions do not.
key=$(printf '%s' "$source_dir" | cksum | cut -d' ' -f1)
venv="$RUNNER_TEMP/eval-gate-$key"
if [ -x "$venv/bin/python" ]; then venv_python="$venv/bin/python"; else venv_python="$venv/Scripts/python.exe"; fi

if [ -f "$venv/.eval-gate-installed" ] && [ -x "$venv_python" ]; then
  echo "eval-gate: reusing $venv"
else
  rm -rf "$venv"
  "$python" -m venv "$venv"
  if [ -x "$venv/bin/python" ]; then venv_python="$venv/bin/python"; else venv_python="$venv/Scripts/python.exe"; fi
  pip=("$venv_python" -m pip --disable-pip-version-check --no-input --quiet)
  # Build tools for the wheel, then the image's pinned runtime closure, then eval-gate itself;
  # --no-deps: nothing unpinned is resolved, and pip check proves the closure complete.
  "${pip[@]}" install -r "$source_dir/docker/build-requirements.txt"
  "${pip[@]}" install --no-deps -r "$source_dir/docker/requirements.txt"
  # Built from a copy in which gate/templates and gate/schema are real folders: the repository
  # has them as symbolic links, which a Windows checkout may turn into plain files.
  build="$venv/.eval-gate-source"
  mkdir -p "$build"
  cp -R "$source_dir/pyproject.toml" "$source_dir/README.md" "$source_dir/gate" "$build/"
  rm -rf "$build/gate/templates" "$build/gate/schema"
  cp -R "$source_dir/templates" "$build/gate/templates"
  cp -R "$source_dir/schema" "$build/gate/schema"
  "${pip[@]}" install --no-deps --no-build-isolation "$build"
  rm -rf "$build"
  "${pip[@]}" check
  "$venv_python" -I -B -c "import sys, gate.action, importlib.metadata as m; print('eval-gate', m.version('eval-gate'), 'in', sys.prefix)"
  : >"$venv/.eval-gate-installed"
fi
echo "python=$venv_python" >>"$GITHUB_OUTPUT"
