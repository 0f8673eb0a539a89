"""Dagster definitions for Jigsaw: assets, factories, checks, schedules, sensors, resources."""
