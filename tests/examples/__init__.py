"""Tests that run the examples/ the docs include."""
