"""The HTTP service face (`eval-gate serve`): app, auth, gate handler, cache, metrics."""
