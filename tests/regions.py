"""The demo regions the tests generate, defined once: the simulator's own tests check that each
is fit for the tests that use it (tests/demo_region/test_demo_region.py)."""

from __future__ import annotations

from ingestion.demo_region import DeliveryNoise, RegionConfig

SMALL = RegionConfig(residents=1500, months=14, seed=7, sensor_share=0.01)
# Big enough for the planted effects to stand out from noise, small enough for seconds.
EFFECTS = RegionConfig(residents=8000, months=20, seed=11, sensor_share=0.0)
# The end-to-end region: small, with more corrupt files than the default so that rejection is
# exercised. Every raw table must get rows (the raw gate says no table is empty), so the
# simulator's rare-event floors (world.at_least_one) matter most here.
END_TO_END = RegionConfig(
    residents=2000, seed=11, months=6, delivery=DeliveryNoise(corrupt_file=0.05, corrupt_row=0.01)
)
