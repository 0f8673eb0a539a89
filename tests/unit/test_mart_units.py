"""Every mart column's description states its unit or kind, from one vocabulary
(quality/units.py), fit for the column's type; dbt persists it as the column comment."""

from __future__ import annotations

import pytest
import yaml

from jigsaw.paths import dbt_project_dir
from quality.units import UNITS, stated_unit, unit_problem


def mart_columns() -> list[tuple[str, str, str, str]]:
    """(model, column, description, data type) of every mart column, from the marts' YAML."""
    columns = []
    for path in sorted((dbt_project_dir() / "models" / "marts").rglob("*.yml")):
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            for column in model.get("columns", []):
                columns.append(
                    (model["name"], column["name"], column["description"], column["data_type"])
                )
    return columns


def test_every_mart_column_description_states_a_unit_that_fits_its_type():
    columns = mart_columns()
    assert len({model for model, *_ in columns}) == 7
    problems = [
        f"{model}.{column}: {problem}"
        for model, column, description, data_type in columns
        if (problem := unit_problem(description, data_type))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("description", "data_type", "problem"),
    [
        ("People in the home in the month.", "integer", "does not end with 'Unit: <unit>.'"),
        ("People in the home. Unit: heads.", "integer", "is not one of"),
        ("Share attending. Unit: count of persons.", "numeric(4,3)", "does not fit data type"),
        ("Whether damp. Unit: flag true/false.", "text", "does not fit data type"),
    ],
)
def test_a_description_without_a_fitting_unit_is_named(description, data_type, problem):
    assert problem in unit_problem(description, data_type)


def test_the_unit_is_read_from_the_end_of_the_description():
    assert stated_unit("Distance to the premises (straight line). Unit: metres.") == "metres"
    assert stated_unit("Unit: metres. More text after it.") is None
    assert all(stated_unit(f"A column. Unit: {unit}.") == unit for unit in UNITS)
