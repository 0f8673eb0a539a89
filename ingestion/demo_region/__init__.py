"""The demo region: a deterministic simulated city region and each public body's deliveries.

from ingestion.demo_region import RegionConfig, generate_region
generate_region(RegionConfig(residents=2000, months=6, seed=1), landing_dir, truth_dir)
"""

from ingestion.demo_region.config import (
    DeliveryNoise,
    IdentityNoise,
    PlantedEffects,
    RegionConfig,
)
from ingestion.demo_region.generate import RegionSummary, generate_region

__all__ = [
    "DeliveryNoise",
    "IdentityNoise",
    "PlantedEffects",
    "RegionConfig",
    "RegionSummary",
    "generate_region",
]
