"""The delivery component: every service's events, to each entitled and permitted partner (DESIGN §7a)."""
