"""Fake kind, kubectl and docker for the tests, and the helper that installs them."""
