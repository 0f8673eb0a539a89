"""The top of the house: what the ``make`` targets run, above every floor.

``python -m orchestration.cli demo|report|ui|docs|lint-sql|database|stop-database``
(``commands.py``) settles the settings a whole process shares (``settings.py``: database,
DAGSTER_HOME, key), runs the demo end to end (``demo.py``, printing its stages with
``progress.py`` and its outcome with ``demo_summary.py``) and builds the dbt docs site
(``docs_site.py``). These are the entry points: they settle, once per process, what the
processes they start share; the Dagster code elsewhere in ``orchestration/`` does not.
"""
