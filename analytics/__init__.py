"""Layer 7: studies, the early-intervention model, damp alerts and the analysts' report.

Everything here reads the published marts only (``marts`` schema, through ``analytics.store``);
only ``analytics.evaluation`` reads the demo region's ground truth, to grade the results.
"""
