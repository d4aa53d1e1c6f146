"""The package is declared in pyproject.toml; this file lets tools that look for setup.py (and
`pip install -e .` on old pips) find it."""

from setuptools import setup

setup()
