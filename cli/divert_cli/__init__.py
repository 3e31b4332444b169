"""`divert`: the operator's command for a Divert deployment (the local `make run` one by default)."""
