"""Feast's registry on kiln: the unmodified Feast 0.67 CLI and SDK with
`registry: {registry_type: remote, path: 127.0.0.1:GRPC}` against kiln's
feast.registry.RegistryServer, plus raw calls through Feast's own generated
gRPC stubs for what the SDK does not expose (pagination, sorting, status
codes).

The repo written here has two entities, two FileSources (Parquet written
with pandas), a PushSource, two feature views with different ttls, a
feature service and an on-demand feature view fed by a RequestSource.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone

import grpc
import pytest
from feast import errors as feast_errors
from feast.protos.feast.core.Entity_pb2 import Entity as EntityProto
from feast.protos.feast.core.OnDemandFeatureView_pb2 import OnDemandFeatureView as OdfvProto
from feast.protos.feast.registry import RegistryServer_pb2 as rs
from feast.protos.feast.registry import RegistryServer_pb2_grpc as rs_grpc
from google.protobuf.empty_pb2 import Empty

from feast_fixtures import (
    DEFAULT_DEFINITIONS,
    PROJECT,
    feast_cli,
    feature_store,
    kiln_ports,
    start_feast_kiln,
    write_default_data,
    write_feast_repo,
)

pytestmark = pytest.mark.kiln_only

ODFV_BLOCK = '''
import pandas as pd
from feast import RequestSource
from feast.on_demand_feature_view import on_demand_feature_view

val_to_add = RequestSource(name="vals_to_add", schema=[Field(name="val_to_add", dtype=Int64)])


@on_demand_feature_view(
    sources=[driver_hourly_stats, val_to_add],
    schema=[Field(name="conv_rate_plus_val", dtype=Float64)],
)
def transformed_conv_rate(inputs: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame()
    df["conv_rate_plus_val"] = inputs["conv_rate"] + inputs["val_to_add"]
    return df
'''

DEFINITIONS = DEFAULT_DEFINITIONS + ODFV_BLOCK

# The same repo without customer_profile (and a service that no longer uses it).
def _without_customer_profile(text: str) -> str:
    start = text.index("customer_profile = FeatureView(")
    end = text.index("\n)\n", start) + 3
    text = text[:start] + text[end:]
    return text.replace("features=[driver_hourly_stats[[\"conv_rate\", \"avg_daily_trips\"]], customer_profile],",
                        "features=[driver_hourly_stats[[\"conv_rate\", \"avg_daily_trips\"]]],")


WITHOUT_CUSTOMER = _without_customer_profile(DEFINITIONS)
assert "name=\"customer_profile\"" not in WITHOUT_CUSTOMER


def names(objs):
    return sorted(o.name for o in objs)


def stub_for(srv):
    _, grpc_port = kiln_ports(srv)
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
    return channel, rs_grpc.RegistryServerStub(channel)


def feast_error(err: grpc.RpcError) -> dict:
    """Feast's error detail: {"module", "class", "message"} as JSON."""
    return json.loads(err.details())


@pytest.fixture(scope="module")
def applied(tmp_path_factory, compat_tmp_root):
    """One kiln, one repo applied with `feast apply`."""
    from conftest import ServerProcess

    srv = ServerProcess("kiln", compat_tmp_root / "feast-registry", ["--grpc-port", "0"])
    srv.start()
    repo = write_feast_repo(tmp_path_factory.mktemp("registry-repo") / "repo", srv, definitions=DEFINITIONS)
    write_default_data(repo)
    out = feast_cli(repo, "apply")
    yield {"srv": srv, "repo": repo, "apply_out": out.stdout}
    srv.stop(check=True)


@pytest.fixture
def stub(applied):
    channel, stub = stub_for(applied["srv"])
    yield stub
    channel.close()


# --- the CLI through the remote registry ---


def test_apply_creates_every_object(applied):
    out = applied["apply_out"]
    assert f"Applying changes for project {PROJECT}" in out, out
    for name in ("driver_hourly_stats", "customer_profile"):
        assert f"Deploying infrastructure for {name}" in out, out


def test_plan_after_apply_has_no_changes(applied):
    out = feast_cli(applied["repo"], "plan").stdout
    assert "No changes to registry" in out, out


@pytest.mark.parametrize("command, expected", [
    ("entities", ["customer", "driver"]),
    ("feature-views", ["customer_profile", "driver_hourly_stats", "transformed_conv_rate"]),
    ("feature-services", ["driver_activity"]),
    ("data-sources", ["customer_source", "driver_stats_push", "driver_stats_source", "vals_to_add"]),
    ("projects", [PROJECT]),
    ("on-demand-feature-views", ["transformed_conv_rate"]),
])
def test_list_commands(applied, command, expected):
    out = feast_cli(applied["repo"], command, "list").stdout
    for name in expected:
        assert name in out, f"feast {command} list:\n{out}"


def test_describe_command(applied):
    out = feast_cli(applied["repo"], "feature-views", "describe", "driver_hourly_stats").stdout
    assert "conv_rate" in out and "driver_stats_push" in out, out


# --- the SDK's get_/list_ calls ---


def test_sdk_reads_back_definitions(applied):
    store = feature_store(applied["repo"])
    driver = store.get_entity("driver")
    assert driver.join_key == "driver_id"
    assert names(store.list_entities()) == ["customer", "driver"]

    fv = store.get_feature_view("driver_hourly_stats")
    assert fv.ttl == timedelta(hours=24)
    assert [f.name for f in fv.features] == ["conv_rate", "acc_rate", "avg_daily_trips"]
    assert fv.stream_source.name == "driver_stats_push"
    assert fv.batch_source.path.endswith("/data/driver_stats.parquet")
    assert store.get_feature_view("customer_profile").ttl == timedelta(days=7)
    assert names(store.list_feature_views()) == ["customer_profile", "driver_hourly_stats"]
    assert names(store.list_batch_feature_views()) == ["customer_profile", "driver_hourly_stats"]

    fs = store.get_feature_service("driver_activity")
    assert [p.name for p in fs.feature_view_projections] == ["driver_hourly_stats", "customer_profile"]
    assert [f.name for f in fs.feature_view_projections[0].features] == ["conv_rate", "avg_daily_trips"]

    push = store.get_data_source("driver_stats_push")
    assert push.batch_source.name == "driver_stats_source"
    assert names(store.list_data_sources()) == ["customer_source", "driver_stats_push", "driver_stats_source",
                                                "vals_to_add"]

    odfv = store.get_on_demand_feature_view("transformed_conv_rate")
    assert [f.name for f in odfv.features] == ["conv_rate_plus_val"]
    assert names(store.list_on_demand_feature_views()) == ["transformed_conv_rate"]
    assert [p.name for p in store.list_projects()] == [PROJECT]
    assert store.get_project(PROJECT).name == PROJECT


def test_sdk_tag_filter(applied, stub):
    store = feature_store(applied["repo"])
    assert store.list_feature_views(tags={"nope": "x"}) == []
    res = stub.ListEntities(rs.ListEntitiesRequest(project=PROJECT, tags={"nope": "x"}))
    assert list(res.entities) == []


def test_registry_proto_holds_everything(applied):
    store = feature_store(applied["repo"])
    proto = store.registry.proto()
    # Feast applies its placeholder entity for entityless views too.
    assert sorted(e.spec.name for e in proto.entities) == ["__dummy", "customer", "driver"]
    assert sorted(f.spec.name for f in proto.feature_views) == ["customer_profile", "driver_hourly_stats"]
    assert [f.spec.name for f in proto.on_demand_feature_views] == ["transformed_conv_rate"]
    assert [f.spec.name for f in proto.feature_services] == ["driver_activity"]
    assert [p.spec.name for p in proto.projects] == [PROJECT]
    assert all(f.spec.project == PROJECT for f in proto.feature_views)
    newest = max(f.meta.last_updated_timestamp.ToDatetime() for f in proto.feature_views)
    assert proto.last_updated.ToDatetime() >= newest


def test_timestamps_stamped_by_the_server(applied):
    store = feature_store(applied["repo"])
    fv = store.get_feature_view("driver_hourly_stats")
    assert fv.created_timestamp is not None and fv.last_updated_timestamp is not None
    assert fv.created_timestamp <= fv.last_updated_timestamp
    entity = store.get_entity("driver")
    assert entity.created_timestamp is not None


def test_project_metadata_and_infra(applied, stub):
    store = feature_store(applied["repo"])
    meta = store.registry.list_project_metadata(PROJECT)
    assert len(meta) == 1 and meta[0].project_name == PROJECT and len(meta[0].project_uuid) == 36
    again = store.registry.list_project_metadata(PROJECT)
    assert again[0].project_uuid == meta[0].project_uuid
    assert store.registry.list_project_metadata("no_such_project") == []
    infra = stub.GetInfra(rs.GetInfraRequest(project=PROJECT))
    assert infra is not None  # the remote online store has no infra objects
    stub.Commit(Empty())
    stub.Refresh(rs.RefreshRequest(project=PROJECT))


def test_apply_materialization_records_interval(applied):
    store = feature_store(applied["repo"])
    fv = store.get_feature_view("customer_profile")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    end = datetime(2026, 1, 2, 12, 30, tzinfo=timezone.utc)
    store.registry.apply_materialization(fv, PROJECT, start, end)
    back = store.get_feature_view("customer_profile")
    assert (start, end) in [(s.replace(tzinfo=timezone.utc), e.replace(tzinfo=timezone.utc))
                            for s, e in back.materialization_intervals]
    assert back.created_timestamp == fv.created_timestamp
    assert back.most_recent_end_time.replace(tzinfo=timezone.utc) == end


def test_features_and_lineage(applied, stub):
    res = stub.ListFeatures(rs.ListFeaturesRequest(project=PROJECT, feature_view="driver_hourly_stats"))
    assert [(f.name, f.type) for f in res.features] == [("conv_rate", "Float32"), ("acc_rate", "Float64"),
                                                      ("avg_daily_trips", "Int64")]
    assert all(f.kind == "feature" and f.created_timestamp.seconds > 0 for f in res.features)
    one = stub.GetFeature(rs.GetFeatureRequest(project=PROJECT, feature_view="customer_profile", name="tags"))
    assert one.type == "Array(String)"
    with pytest.raises(grpc.RpcError) as e:
        stub.GetFeature(rs.GetFeatureRequest(project=PROJECT, feature_view="customer_profile", name="nope"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND

    store = feature_store(applied["repo"])
    direct, indirect = store.registry.get_registry_lineage(PROJECT)
    edges = {(r.source.type.value, r.source.name, r.target.type.value, r.target.name) for r in direct}
    assert ("entity", "driver", "featureView", "driver_hourly_stats") in edges
    assert ("featureView", "customer_profile", "featureService", "driver_activity") in edges
    assert ("dataSource", "driver_stats_source", "featureView", "driver_hourly_stats") in edges
    assert ("dataSource", "vals_to_add", "featureView", "transformed_conv_rate") in edges
    ind = {(r.source.type.value, r.source.name, r.target.type.value, r.target.name) for r in indirect}
    assert ("entity", "customer", "featureService", "driver_activity") in ind
    rels = store.registry.get_object_relationships(PROJECT, "featureService", "driver_activity")
    assert {r.source.name for r in rels} == {"driver_hourly_stats", "customer_profile"}


# --- status codes, through the SDK and a raw stub ---


def test_not_found_through_sdk(applied):
    store = feature_store(applied["repo"])
    with pytest.raises(feast_errors.FeatureViewNotFoundException) as e:
        store.get_feature_view("nope")
    assert str(e.value) == f"Feature view nope does not exist in project {PROJECT}"
    with pytest.raises(feast_errors.EntityNotFoundException):
        store.get_entity("nope")
    with pytest.raises(feast_errors.FeatureServiceNotFoundException):
        store.get_feature_service("nope")
    with pytest.raises(feast_errors.DataSourceObjectNotFoundException):
        store.get_data_source("nope")


@pytest.mark.parametrize("call, request_msg, error_class, message", [
    ("GetFeatureView", rs.GetFeatureViewRequest(name="nope", project=PROJECT), "FeatureViewNotFoundException",
     f"Feature view nope does not exist in project {PROJECT}"),
    ("GetAnyFeatureView", rs.GetAnyFeatureViewRequest(name="nope", project=PROJECT),
     "FeatureViewNotFoundException", f"Feature view nope does not exist in project {PROJECT}"),
    ("GetEntity", rs.GetEntityRequest(name="nope", project=PROJECT), "EntityNotFoundException",
     f"Entity nope does not exist in project {PROJECT}"),
    ("DeleteEntity", rs.DeleteEntityRequest(name="nope", project=PROJECT), "EntityNotFoundException",
     f"Entity nope does not exist in project {PROJECT}"),
    ("DeleteFeatureView", rs.DeleteFeatureViewRequest(name="nope", project=PROJECT),
     "FeatureViewNotFoundException", f"Feature view nope does not exist in project {PROJECT}"),
    ("GetDataSource", rs.GetDataSourceRequest(name="nope", project=PROJECT), "DataSourceObjectNotFoundException",
     f"Data source nope does not exist in project {PROJECT}"),
    ("GetFeatureService", rs.GetFeatureServiceRequest(name="nope", project=PROJECT),
     "FeatureServiceNotFoundException", f"Feature service nope does not exist in project {PROJECT}"),
    ("GetSavedDataset", rs.GetSavedDatasetRequest(name="nope", project=PROJECT), "SavedDatasetNotFound",
     f"Saved dataset nope does not exist in project {PROJECT}"),
    ("GetValidationReference", rs.GetValidationReferenceRequest(name="nope", project=PROJECT),
     "ValidationReferenceNotFound", f"Validation reference nope does not exist in project {PROJECT}"),
    ("GetProject", rs.GetProjectRequest(name="nope"), "ProjectObjectNotFoundException",
     "Project nope does not exist"),
    ("DeleteProject", rs.DeleteProjectRequest(name="nope"), "ProjectObjectNotFoundException",
     "Project nope does not exist"),
])
def test_not_found_codes(stub, call, request_msg, error_class, message):
    with pytest.raises(grpc.RpcError) as e:
        getattr(stub, call)(request_msg)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    detail = feast_error(e.value)
    assert detail == {"module": "feast.errors", "class": error_class, "message": message}


def test_invalid_arguments(stub):
    with pytest.raises(grpc.RpcError) as e:
        stub.ApplyFeatureView(rs.ApplyFeatureViewRequest(project=PROJECT))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        stub.ApplyEntity(rs.ApplyEntityRequest(entity=EntityProto(), project=PROJECT))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # One name space for every kind of feature view.
    clash = OdfvProto()
    clash.spec.name = "driver_hourly_stats"
    with pytest.raises(grpc.RpcError) as e:
        stub.ApplyFeatureView(rs.ApplyFeatureViewRequest(on_demand_feature_view=clash, project=PROJECT))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert feast_error(e.value)["class"] == "ConflictingFeatureViewNames"
    with pytest.raises(grpc.RpcError) as e:
        stub.GetObjectRelationships(rs.GetObjectRelationshipsRequest(project=PROJECT, object_type="bogus",
                                                                      object_name="x"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Feast's UI-only dataset jobs: kiln runs none and refuses to start one.
    assert list(stub.ListDatasetJobs(rs.ListDatasetJobsRequest(project=PROJECT)).jobs) == []
    with pytest.raises(grpc.RpcError) as e:
        stub.GetDatasetJobStatus(rs.GetDatasetJobStatusRequest(job_id="j1"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert feast_error(e.value)["message"] == "Dataset job 'j1' not found"
    with pytest.raises(grpc.RpcError) as e:
        stub.CreateDatasetFromRetrieval(rs.CreateDatasetFromRetrievalRequest(name="d", project=PROJECT))
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "historical" in feast_error(e.value)["message"]


# --- pagination and sorting (Feast's apply_pagination_and_sorting) ---


def test_pagination_and_sorting(stub):
    def page(n, limit, order):
        return stub.ListEntities(rs.ListEntitiesRequest(
            project=PROJECT, pagination=rs.PaginationParams(page=n, limit=limit),
            sorting=rs.SortingParams(sort_by="name", sort_order=order)))

    # Entities: Feast's placeholder __dummy, customer, driver.
    first = page(1, 2, "desc")
    assert [e.spec.name for e in first.entities] == ["driver", "customer"]
    p = first.pagination
    assert (p.page, p.limit, p.total_count, p.total_pages, p.has_next, p.has_previous) == (1, 2, 3, 2, True, False)
    second = page(2, 2, "desc")
    assert [e.spec.name for e in second.entities] == ["__dummy"]
    assert (second.pagination.has_next, second.pagination.has_previous) == (False, True)
    beyond = page(3, 2, "asc")
    assert list(beyond.entities) == [] and beyond.pagination.total_count == 3
    assert [e.spec.name for e in page(1, 5, "asc").entities] == ["__dummy", "customer", "driver"]

    unpaged = stub.ListFeatureViews(rs.ListFeatureViewsRequest(project=PROJECT))
    u = unpaged.pagination
    assert (u.page, u.limit, u.total_count, u.total_pages) == (0, 0, 2, 1)
    empty = stub.ListFeatureViews(rs.ListFeatureViewsRequest(project="no_such_project"))
    e = empty.pagination
    assert (e.total_count, e.total_pages, e.has_next) == (0, 0, False)

    # Nested paths and times: newest first by meta.created_timestamp.
    by_created = stub.ListAllFeatureViews(rs.ListAllFeatureViewsRequest(
        project=PROJECT, sorting=rs.SortingParams(sort_by="created_timestamp", sort_order="desc")))
    created = [v.WhichOneof("any_feature_view") for v in by_created.feature_views]
    assert len(created) == 3
    stamps = []
    for v in by_created.feature_views:
        which = v.WhichOneof("any_feature_view")
        stamps.append(getattr(v, which).meta.created_timestamp.ToNanoseconds())
    assert stamps == sorted(stamps, reverse=True)

    feats = stub.ListFeatures(rs.ListFeaturesRequest(project=PROJECT, sorting=rs.SortingParams(sort_by="name"),
                                                     pagination=rs.PaginationParams(page=1, limit=3)))
    assert [f.name for f in feats.features] == ["acc_rate", "age", "avg_daily_trips"]
    assert feats.pagination.total_count == 9


def test_list_all_feature_views_filters(stub):
    def listed(**kw):
        res = stub.ListAllFeatureViews(rs.ListAllFeatureViewsRequest(project=PROJECT, **kw))
        return sorted(getattr(v, v.WhichOneof("any_feature_view")).spec.name for v in res.feature_views)

    assert listed() == ["customer_profile", "driver_hourly_stats", "transformed_conv_rate"]
    assert listed(entity="driver") == ["driver_hourly_stats"]
    assert listed(feature="age") == ["customer_profile"]
    assert listed(feature_service="driver_activity") == ["customer_profile", "driver_hourly_stats"]
    assert listed(data_source="vals_to_add") == ["transformed_conv_rate"]
    assert listed(data_source="driver_stats_push") == ["driver_hourly_stats"]
    services = stub.ListFeatureServices(rs.ListFeatureServicesRequest(project=PROJECT, feature_view="nope"))
    assert list(services.feature_services) == []


# --- changing the repo ---


def test_reapply_keeps_created_and_stamps_update(tmp_path_factory, kiln_factory):
    srv = start_feast_kiln(kiln_factory)
    repo = write_feast_repo(tmp_path_factory.mktemp("reapply") / "repo", srv, definitions=DEFINITIONS)
    write_default_data(repo)
    feast_cli(repo, "apply")
    store = feature_store(repo)
    before = store.get_feature_view("customer_profile")
    entity_before = store.get_entity("customer")

    feast_cli(repo, "apply")  # unchanged: nothing is rewritten
    same = feature_store(repo).get_feature_view("customer_profile")
    assert same.last_updated_timestamp == before.last_updated_timestamp

    time.sleep(1.1)  # Feast's timestamps are compared to the second
    write_feast_repo(repo, srv, definitions=DEFINITIONS, customer_ttl_days=3)
    out = feast_cli(repo, "plan").stdout
    assert "customer_profile" in out and "Updated" in out, out
    feast_cli(repo, "apply")
    after = feature_store(repo).get_feature_view("customer_profile")
    assert after.ttl == timedelta(days=3)
    assert after.created_timestamp == before.created_timestamp
    assert after.last_updated_timestamp > before.last_updated_timestamp
    assert feature_store(repo).get_entity("customer").last_updated_timestamp == entity_before.last_updated_timestamp


def test_reapply_without_an_object_deletes_it(tmp_path_factory, kiln_factory):
    srv = start_feast_kiln(kiln_factory)
    repo = write_feast_repo(tmp_path_factory.mktemp("delete") / "repo", srv, definitions=DEFINITIONS)
    write_default_data(repo)
    feast_cli(repo, "apply")
    write_feast_repo(repo, srv, definitions=WITHOUT_CUSTOMER)
    out = feast_cli(repo, "apply").stdout
    assert "customer_profile" in out, out
    store = feature_store(repo)
    with pytest.raises(feast_errors.FeatureViewNotFoundException):
        store.get_feature_view("customer_profile")
    assert names(store.list_feature_views()) == ["driver_hourly_stats"]
    fs = store.get_feature_service("driver_activity")
    assert [p.name for p in fs.feature_view_projections] == ["driver_hourly_stats"]
    assert "No changes to registry" in feast_cli(repo, "plan").stdout


def test_delete_project(tmp_path_factory, kiln_factory):
    srv = start_feast_kiln(kiln_factory)
    repo = write_feast_repo(tmp_path_factory.mktemp("delproj") / "repo", srv, definitions=DEFINITIONS)
    write_default_data(repo)
    feast_cli(repo, "apply")
    store = feature_store(repo)
    store.registry.delete_project(PROJECT)
    assert store.list_projects() == []
    assert store.list_feature_views() == []
    with pytest.raises(feast_errors.ProjectObjectNotFoundException):
        store.get_project(PROJECT)


def test_timestamps_survive_restart(tmp_path_factory, kiln_factory):
    srv = start_feast_kiln(kiln_factory)
    repo = write_feast_repo(tmp_path_factory.mktemp("restart") / "repo", srv, definitions=DEFINITIONS)
    write_default_data(repo)
    feast_cli(repo, "apply")
    store = feature_store(repo)
    fv = store.get_feature_view("driver_hourly_stats")
    ent = store.get_entity("driver")
    uuid_before = store.registry.list_project_metadata(PROJECT)[0].project_uuid
    data_dir = srv.data_dir
    srv.stop(check=True)

    again = start_feast_kiln(kiln_factory, data_dir=data_dir)
    write_feast_repo(repo, again, definitions=DEFINITIONS)  # new ports
    store = feature_store(repo)
    fv2 = store.get_feature_view("driver_hourly_stats")
    assert (fv2.created_timestamp, fv2.last_updated_timestamp) == (fv.created_timestamp, fv.last_updated_timestamp)
    assert store.get_entity("driver").created_timestamp == ent.created_timestamp
    assert store.registry.list_project_metadata(PROJECT)[0].project_uuid == uuid_before
    assert "No changes to registry" in feast_cli(repo, "plan").stdout


# --- the same questions to Feast's own registry server ---


def _answers(stub) -> dict:
    """What a client sees for a fixed set of calls, comparable across servers."""
    def call(f):
        try:
            return ("ok", f())
        except grpc.RpcError as e:
            return ("error", e.code(), e.details())

    def meta(p):
        return (p.page, p.limit, p.total_count, p.total_pages, p.has_next, p.has_previous)

    def edges(rels):
        return sorted((r.source.type, r.source.name, r.target.type, r.target.name) for r in rels)

    lineage = stub.GetRegistryLineage(rs.GetRegistryLineageRequest(project=PROJECT))
    return {
        "entities_desc": call(lambda: [e.spec.name for e in stub.ListEntities(rs.ListEntitiesRequest(
            project=PROJECT, pagination=rs.PaginationParams(page=1, limit=2),
            sorting=rs.SortingParams(sort_by="name", sort_order="desc"))).entities]),
        "entities_meta": meta(stub.ListEntities(rs.ListEntitiesRequest(
            project=PROJECT, pagination=rs.PaginationParams(page=2, limit=2))).pagination),
        "unpaged_meta": meta(stub.ListFeatureViews(rs.ListFeatureViewsRequest(project=PROJECT)).pagination),
        "empty_meta": meta(stub.ListFeatureViews(rs.ListFeatureViewsRequest(project="nope")).pagination),
        "features": [(f.name, f.feature_view, f.type, f.kind) for f in stub.ListFeatures(rs.ListFeaturesRequest(
            project=PROJECT, sorting=rs.SortingParams(sort_by="name"))).features],
        "services_by_view": [s.spec.name for s in stub.ListFeatureServices(rs.ListFeatureServicesRequest(
            project=PROJECT, feature_view="customer_profile")).feature_services],
        "all_views_by_entity": sorted(getattr(v, v.WhichOneof("any_feature_view")).spec.name
                                      for v in stub.ListAllFeatureViews(rs.ListAllFeatureViewsRequest(
                                          project=PROJECT, entity="driver")).feature_views),
        "get_fv": call(lambda: stub.GetFeatureView(rs.GetFeatureViewRequest(project=PROJECT, name="nope"))),
        "get_any": call(lambda: stub.GetAnyFeatureView(rs.GetAnyFeatureViewRequest(project=PROJECT, name="nope"))),
        "get_project": call(lambda: stub.GetProject(rs.GetProjectRequest(name="nope"))),
        "delete_entity": call(lambda: stub.DeleteEntity(rs.DeleteEntityRequest(project=PROJECT, name="nope"))),
        "get_saved": call(lambda: stub.GetSavedDataset(rs.GetSavedDatasetRequest(project=PROJECT, name="nope"))),
        "get_feature": call(lambda: stub.GetFeature(rs.GetFeatureRequest(project=PROJECT,
                                                                         feature_view="customer_profile",
                                                                         name="nope"))),
        "lineage": edges(lineage.relationships),
        "lineage_indirect": edges(lineage.indirect_relationships),
        "metadata_count": len(stub.ListProjectMetadata(rs.ListProjectMetadataRequest(project=PROJECT))
                              .project_metadata),
        "jobs": list(stub.ListDatasetJobs(rs.ListDatasetJobsRequest(project=PROJECT)).jobs),
    }


def test_feast_registry_server_agrees(applied, stub, tmp_path):
    """The same repo applied to Feast 0.67's own `feast serve_registry` (SQL
    registry) answers these calls exactly as kiln does."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "feature_store.yaml").write_text(
        f"project: {PROJECT}\nprovider: local\nregistry:\n  registry_type: sql\n"
        f"  path: sqlite:///{tmp_path}/registry.db\nonline_store:\n  type: sqlite\n  path: {tmp_path}/online.db\n"
        "offline_store:\n  type: file\nentity_key_serialization_version: 3\n")
    (repo / "features.py").write_text(DEFINITIONS.replace("{data_dir}", str(repo / "data"))
                                      .replace("{driver_ttl_hours}", "24").replace("{customer_ttl_days}", "7"))
    write_default_data(repo)
    feast_cli(repo, "apply")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, FEAST_USAGE="False")
    feast_bin = Path(sys.executable).with_name("feast")
    proc = subprocess.Popen([str(feast_bin), "-c", str(repo), "serve_registry", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=60)
        feast_stub = rs_grpc.RegistryServerStub(channel)
        assert _answers(stub) == _answers(feast_stub)
    finally:
        channel.close()
        proc.terminate()
        proc.wait(timeout=30)


def test_permissions_apply_get_list_delete(applied):
    from feast.feature_view import FeatureView
    from feast.permissions.action import AuthzedAction
    from feast.permissions.permission import Permission
    from feast.permissions.policy import RoleBasedPolicy

    store = feature_store(applied["repo"])
    perm = Permission(name="readers", types=[FeatureView], policy=RoleBasedPolicy(roles=["reader"]),
                      actions=[AuthzedAction.DESCRIBE], tags={"team": "ml"})
    store.registry.apply_permission(perm, PROJECT)
    back = store.registry.get_permission("readers", PROJECT)
    assert back.policy.roles == ["reader"] and back.actions == [AuthzedAction.DESCRIBE]
    assert back.created_timestamp is not None
    assert [p.name for p in store.registry.list_permissions(PROJECT, tags={"team": "ml"})] == ["readers"]
    assert "readers" in feast_cli(applied["repo"], "permissions", "list").stdout
    store.registry.delete_permission("readers", PROJECT)
    assert store.registry.list_permissions(PROJECT) == []
    with pytest.raises(feast_errors.PermissionNotFoundException):
        store.registry.get_permission("readers", PROJECT)
