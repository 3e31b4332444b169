"""Divert's versioned event contracts and shared vocabulary: what partner systems are written against."""
