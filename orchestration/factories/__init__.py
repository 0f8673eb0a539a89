"""Factories that turn data (source specs, contracts, the dbt manifest) into Dagster objects."""
