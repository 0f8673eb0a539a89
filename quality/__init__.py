"""Quality gates: Soda contracts, roles, publishing, privacy, disclosure and purpose checks."""
