"""The build after a delivery: a body's successful load requests that body's downstream build,
tagged with the body and the load's start, from which its dbt step takes the slice."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from orchestration.slices import TAG_BODY, TAG_SINCE


@dg.op
def _load():
    return None


def _finished_run(instance: dg.DagsterInstance, name: str):
    @dg.job(name=name)
    def job():
        _load()

    result = job.execute_in_process(instance=instance)
    return result.dagster_run, result.get_run_success_event()


def _sensor_after(instance: dg.DagsterInstance, job_name: str):
    """What delivery_downstream_builds answers to a successful run of ``job_name``."""
    from orchestration.defs.jobs import delivery_downstream_builds

    run, event = _finished_run(instance, job_name)
    context = dg.build_run_status_sensor_context(
        sensor_name=delivery_downstream_builds.name,
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event,
    )
    return run, delivery_downstream_builds(context)


def test_a_bodys_load_requests_its_downstream_build_with_the_slice_tags():
    with dg.instance_for_test() as instance:
        run, request = _sensor_after(instance, "police__ingestion")
        started = instance.get_run_record_by_id(run.run_id).start_time
    assert isinstance(request, dg.RunRequest)
    assert request.job_name == "police__downstream_build"
    assert request.tags[TAG_BODY] == "police"
    since = dt.datetime.fromisoformat(request.tags[TAG_SINCE])
    assert abs(since.timestamp() - started) < 1


def test_other_runs_request_nothing():
    with dg.instance_for_test() as instance:
        _, answer = _sensor_after(instance, "regional_build")
        assert isinstance(answer, dg.SkipReason)


def test_only_deliveries_about_people_or_readings_are_built_as_a_slice():
    from orchestration.slices import DeliverySlice, builds_by_slice

    assert builds_by_slice(DeliverySlice((("police", "incidents", "2026-04"),), ()))
    assert builds_by_slice(DeliverySlice((), ("P1", "P2")))
    assert builds_by_slice(DeliverySlice((("home_sensors", "sensor_readings", "2026-04"),), ()))
    assert not builds_by_slice(DeliverySlice((("reference", "gazetteer", "2025-01"),), ()))
