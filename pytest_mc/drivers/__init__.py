"""Drivers: run real tools (k6, Chaos Toolkit, the control CLI) and return models.

Drivers never import pytest; steps call them and record what they return.
"""
