"""Scenario format v1: reading, validating, building and writing scenarios."""

from broker.scenario.build import from_frames, write_scenario
from broker.scenario.model import Config, Scenario, Weights
from broker.scenario.read import read_scenario

__all__ = ["Config", "Scenario", "Weights", "from_frames", "read_scenario", "write_scenario"]
