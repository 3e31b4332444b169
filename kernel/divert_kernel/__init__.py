"""Divert's shared kernel: infrastructure only, no business rules."""
