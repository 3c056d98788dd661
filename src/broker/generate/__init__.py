"""Scenario generators built on the real school register."""
