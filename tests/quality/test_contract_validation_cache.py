"""Soda validates the contracts once per content: a clean validation is remembered, and any
edit to a contract is validated again (so a typo still fails the definitions load)."""

from __future__ import annotations

import shutil

import pytest

from jigsaw.paths import contracts_dir
from quality.contract_files import ContractError, load_contracts


def test_a_clean_validation_is_remembered_and_an_edit_is_validated_again(tmp_path, monkeypatch):
    monkeypatch.setenv("JIGSAW_STATE_DIR", str(tmp_path / "state"))
    root = tmp_path / "contracts"
    shutil.copytree(contracts_dir() / "raw" / "police", root / "raw" / "police")
    markers = tmp_path / "state" / "cache" / "soda_contracts_valid"

    assert load_contracts(root, validate=True)
    assert len(list(markers.iterdir())) == 1
    assert load_contracts(root, validate=True)  # remembered: no second marker
    assert len(list(markers.iterdir())) == 1

    contract = next((root / "raw" / "police").glob("*.yml"))
    contract.write_text(contract.read_text() + "      - no_such_check_type:\n")
    with pytest.raises(ContractError, match="invalid Soda contract"):
        load_contracts(root, validate=True)
