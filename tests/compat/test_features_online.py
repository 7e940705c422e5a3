"""Feature serving: Feast's feature server routes and ServingService on kiln.

The unmodified Feast 0.67 SDK (remote registry on kiln's gRPC port, remote
online store on its HTTP port) applies a repo, writes rows through
`store.write_to_online_store` (which posts /write-to-online-store) and reads
them back with `store.get_online_features` (which posts
/get-online-features); raw requests check the exact response shape, the
statuses kiln adds (NOT_FOUND, NULL_VALUE, OUTSIDE_MAX_AGE), /push, the error
bodies the SDK re-raises, gRPC ServingService through Feast's own generated
stubs, and that rows survive a restart.
"""

from __future__ import annotations

import json
from datetime import timedelta

import grpc
import pandas as pd
import pytest
import requests

from feast_fixtures import (
    CUSTOMER_IDS,
    feast_cli,
    feature_store,
    start_feast_kiln,
    utc_now_s,
    write_feast_repo,
)

pytestmark = pytest.mark.kiln_only

MAX_ROWS = 50  # --feature-max-rows for this suite's server
ODFV_DEFINITIONS = '''
import pandas as pd
from feast import Field, RequestSource
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Float64, Int64

from features import driver_hourly_stats

trip_request = RequestSource(name="trip_request", schema=[Field(name="distance", dtype=Float64)])


@on_demand_feature_view(sources=[driver_hourly_stats, trip_request], schema=[Field(name="cost", dtype=Float64)])
def trip_cost(inputs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame()
    out["cost"] = inputs["distance"] * inputs["conv_rate"]
    return out
'''


def iso(ts) -> str:
    """Naive UTC ISO text, as Feast's remote online store sends timestamps."""
    return ts.replace(tzinfo=None).isoformat()


def rfc3339(ts) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def env(compat_tmp_root, tmp_path_factory):
    from conftest import ServerProcess

    srv = ServerProcess("kiln", compat_tmp_root / "features-online",
                        ["--grpc-port", "0", "--feature-max-rows", str(MAX_ROWS)])
    srv.start()
    repo = write_feast_repo(tmp_path_factory.mktemp("online-repo"), srv)
    (repo / "odfv.py").write_text(ODFV_DEFINITIONS)
    feast_cli(repo, "apply")
    store = feature_store(repo)
    now = utc_now_s()
    drivers = pd.DataFrame({
        "driver_id": [1001, 1002, 1003, 1005],
        "event_timestamp": [now - timedelta(hours=1), now - timedelta(hours=2), now - timedelta(minutes=5),
                            now - timedelta(days=2)],  # 1005: older than the view's 24 h ttl
        "created": [now] * 4,
        "conv_rate": [0.5, 0.25, 0.75, 0.9],
        "acc_rate": [0.1, 0.2, None, 0.4],  # 1003: a stored null
        "avg_daily_trips": [10, 20, 30, 40],
    })
    drivers["conv_rate"] = drivers["conv_rate"].astype("float32")
    store.write_to_online_store("driver_hourly_stats", drivers)
    customers = pd.DataFrame({
        "customer_id": CUSTOMER_IDS,
        "event_timestamp": [now - timedelta(hours=3)] * 3,
        "created": [now] * 3,
        "name": ["Ada", "Bob", "Cy"],
        "age": [36, 41, 29],
        "score": [0.5, 1.25, 2.0],
        "vip": [True, False, True],
        "tags": [["a", "b"], [], ["c"]],
    })
    store.write_to_online_store("customer_profile", customers)
    yield {"srv": srv, "repo": repo, "store": store, "now": now, "url": srv.url}
    srv.stop(check=True)


def post(env, path, body, **kw):
    return requests.post(env["url"] + path, json=body, timeout=30, **kw)


def error_detail(resp) -> dict:
    """Feast's error body: a JSON string whose text is {module, class, message}."""
    body = resp.json()
    assert isinstance(body, str), resp.text
    detail = json.loads(body)
    assert detail["module"] == "feast.errors"
    return detail


def assert_still_serving(env):
    r = post(env, "/get-online-features",
             {"entities": {"driver_id": [1001]}, "features": ["driver_hourly_stats:avg_daily_trips"]})
    assert r.status_code == 200, r.text
    assert r.json()["results"][1]["values"] == [10]


# --- reads through the SDK -------------------------------------------------

def test_sdk_reads_features_by_reference(env):
    got = env["store"].get_online_features(
        features=["driver_hourly_stats:conv_rate", "driver_hourly_stats:avg_daily_trips"],
        entity_rows=[{"driver_id": 1001}, {"driver_id": 1002}, {"driver_id": 4242}],
    ).to_dict()
    assert got["driver_id"] == [1001, 1002, 4242]
    assert got["avg_daily_trips"] == [10, 20, None]
    assert got["conv_rate"][:2] == pytest.approx([0.5, 0.25])
    assert got["conv_rate"][2] is None


def test_sdk_reads_with_full_feature_names(env):
    got = env["store"].get_online_features(
        features=["driver_hourly_stats:avg_daily_trips", "customer_profile:name", "customer_profile:tags"],
        entity_rows=[{"driver_id": 1002, "customer_id": "c1"}],
        full_feature_names=True,
    ).to_dict()
    assert got == {"driver_id": [1002], "customer_id": ["c1"], "driver_hourly_stats__avg_daily_trips": [20],
                   "customer_profile__name": ["Ada"], "customer_profile__tags": [["a", "b"]]}


@pytest.mark.parametrize("full", [False, True])
def test_sdk_reads_by_feature_service(env, full):
    store = env["store"]
    service = store.get_feature_service("driver_activity")
    # (c2's empty tag list would trip the SDK itself: its remote client cannot
    # infer a type from [] whatever the server answers.)
    got = store.get_online_features(features=service, entity_rows=[{"driver_id": 1001, "customer_id": "c3"}],
                                    full_feature_names=full).to_dict()
    d = "driver_hourly_stats__" if full else ""
    c = "customer_profile__" if full else ""
    assert set(got) == {"driver_id", "customer_id", f"{d}conv_rate", f"{d}avg_daily_trips", f"{c}name", f"{c}age",
                        f"{c}score", f"{c}vip", f"{c}tags"}
    assert got[f"{d}avg_daily_trips"] == [10]
    assert got[f"{c}name"] == ["Cy"] and got[f"{c}age"] == [29] and got[f"{c}vip"] == [True]
    assert got[f"{c}score"] == [2.0] and got[f"{c}tags"] == [["c"]]


def test_sdk_raises_feasts_own_exception_for_an_unknown_view(env):
    from feast.errors import FeatureViewNotFoundException

    with pytest.raises(FeatureViewNotFoundException, match="nope"):
        env["store"].get_online_features(features=["nope:x"], entity_rows=[{"driver_id": 1001}])


# --- the wire shape ----------------------------------------------------------

def test_response_is_column_oriented_with_join_keys_first(env):
    now = env["now"]
    r = post(env, "/get-online-features", {
        "entities": {"driver_id": [1001, 9999], "customer_id": ["c3", "c1"]},
        "features": ["driver_hourly_stats:conv_rate", "customer_profile:age", "driver_hourly_stats:avg_daily_trips"],
    })
    assert r.status_code == 200, r.text
    body = r.json()
    assert list(body) == ["results", "metadata"]
    assert body["metadata"]["feature_names"] == ["driver_id", "customer_id", "conv_rate", "avg_daily_trips", "age"]
    res = body["results"]
    assert res[0] == {"values": [1001, 9999], "statuses": ["PRESENT", "PRESENT"],
                      "event_timestamps": ["1970-01-01T00:00:00Z"] * 2}
    assert res[1]["values"] == ["c3", "c1"]
    # float32 0.5 travels as Feast renders a float_val: a JSON float.
    assert res[2]["values"] == [0.5, None]
    assert res[2]["statuses"] == ["PRESENT", "NOT_FOUND"]
    assert res[2]["event_timestamps"] == [rfc3339(now - timedelta(hours=1)), "1970-01-01T00:00:00Z"]
    assert res[3]["values"] == [10, None]
    assert res[4] == {"values": [29, 36], "statuses": ["PRESENT", "PRESENT"],
                      "event_timestamps": [rfc3339(now - timedelta(hours=3))] * 2}
    assert '"values":[0.5,null]' in r.text  # floats keep their decimal point


def test_statuses_outside_max_age_null_value_and_not_found(env):
    r = post(env, "/get-online-features", {
        "entities": {"driver_id": [1005, 1003, 31337]},
        "features": ["driver_hourly_stats:acc_rate", "driver_hourly_stats:avg_daily_trips"],
    })
    assert r.status_code == 200, r.text
    acc, trips = r.json()["results"][1:]
    # 1005's row is 2 days old, the view's ttl 24 h: value kept, status says so.
    assert trips["statuses"] == ["OUTSIDE_MAX_AGE", "PRESENT", "NOT_FOUND"]
    assert trips["values"] == [40, 30, None]
    assert acc["statuses"] == ["OUTSIDE_MAX_AGE", "NULL_VALUE", "NOT_FOUND"]
    assert acc["values"] == [0.4, None, None]
    assert acc["event_timestamps"][2] == "1970-01-01T00:00:00Z"


def test_feature_service_over_http(env):
    r = post(env, "/get-online-features", {"entities": {"driver_id": [1002], "customer_id": ["c1"]},
                                           "feature_service": "driver_activity", "full_feature_names": True})
    assert r.status_code == 200, r.text
    names = r.json()["metadata"]["feature_names"]
    assert names[:4] == ["driver_id", "customer_id", "driver_hourly_stats__conv_rate",
                         "driver_hourly_stats__avg_daily_trips"]
    assert "customer_profile__tags" in names


# --- writes ------------------------------------------------------------------

def test_write_to_online_store_keeps_the_newest_row(env):
    now = env["now"]
    older = {"feature_view_name": "driver_hourly_stats", "df": {
        "driver_id": [1002], "event_timestamp": [iso(now - timedelta(days=1))], "created": [None],
        "conv_rate": [0.01], "acc_rate": [0.01], "avg_daily_trips": [1]}}
    r = post(env, "/write-to-online-store", older)
    assert r.status_code == 200, r.text
    assert r.json() is None
    got = post(env, "/get-online-features", {"entities": {"driver_id": [1002]},
                                             "features": ["driver_hourly_stats:avg_daily_trips"]}).json()
    assert got["results"][1]["values"] == [20]


def test_push_online_then_read(env):
    now = env["now"]
    r = post(env, "/push", {"push_source_name": "driver_stats_push", "to": "online", "df": {
        "driver_id": [1004], "event_timestamp": [iso(now)], "created": [iso(now)],
        "conv_rate": [0.125], "acc_rate": [0.5], "avg_daily_trips": [7]}})
    assert r.status_code == 200, r.text
    got = env["store"].get_online_features(features=["driver_hourly_stats:avg_daily_trips"],
                                           entity_rows=[{"driver_id": 1004}]).to_dict()
    assert got["avg_daily_trips"] == [7]


@pytest.mark.parametrize("to", ["offline", "online_and_offline"])
def test_offline_push_is_refused_and_writes_nothing(env, to):
    now = env["now"]
    r = post(env, "/push", {"push_source_name": "driver_stats_push", "to": to, "df": {
        "driver_id": [1777], "event_timestamp": [iso(now)], "created": [None],
        "conv_rate": [0.5], "acc_rate": [0.5], "avg_daily_trips": [5]}})
    assert r.status_code == 501, r.text
    assert "does not append to offline sources" in error_detail(r)["message"]
    got = post(env, "/get-online-features", {"entities": {"driver_id": [1777]},
                                             "features": ["driver_hourly_stats:avg_daily_trips"]}).json()
    assert got["results"][1]["statuses"] == ["NOT_FOUND"]


# --- gRPC ServingService ----------------------------------------------------

def test_grpc_serving_service(env):
    from feast.protos.feast.serving import ServingService_pb2 as pb
    from feast.protos.feast.serving import ServingService_pb2_grpc as pb_grpc
    from feast.protos.feast.types.Value_pb2 import RepeatedValue, Value

    with grpc.insecure_channel(f"127.0.0.1:{env['srv'].grpc_port}") as ch:
        stub = pb_grpc.ServingServiceStub(ch)
        assert stub.GetFeastServingInfo(pb.GetFeastServingInfoRequest(), timeout=10).version.startswith("kiln")
        req = pb.GetOnlineFeaturesRequest(
            features=pb.FeatureList(val=["driver_hourly_stats:avg_daily_trips", "driver_hourly_stats:conv_rate"]),
            entities={"driver_id": RepeatedValue(val=[Value(int64_val=1001), Value(int64_val=5555)])},
        )
        res = stub.GetOnlineFeatures(req, timeout=10)
        assert list(res.metadata.feature_names.val) == ["driver_id", "avg_daily_trips", "conv_rate"]
        assert [v.int64_val for v in res.results[0].values] == [1001, 5555]
        assert res.results[1].values[0].int64_val == 10
        assert res.results[1].statuses == [pb.PRESENT, pb.NOT_FOUND]
        assert res.results[2].values[0].float_val == pytest.approx(0.5)
        assert res.results[1].event_timestamps[0].seconds == int((env["now"] - timedelta(hours=1)).timestamp())

        by_service = stub.GetOnlineFeatures(pb.GetOnlineFeaturesRequest(
            feature_service="driver_activity", full_feature_names=True,
            entities={"driver_id": RepeatedValue(val=[Value(int64_val=1002)]),
                      "customer_id": RepeatedValue(val=[Value(string_val="c3")])}), timeout=10)
        names = list(by_service.metadata.feature_names.val)
        assert names[:2] == ["customer_id", "driver_id"]  # a proto map has no order: sorted
        assert by_service.results[names.index("customer_profile__name")].values[0].string_val == "Cy"

        with pytest.raises(grpc.RpcError) as e:
            stub.GetOnlineFeatures(pb.GetOnlineFeaturesRequest(
                features=pb.FeatureList(val=["nope:x"]),
                entities={"driver_id": RepeatedValue(val=[Value(int64_val=1)])}), timeout=10)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        assert "nope" in e.value.details()
        with pytest.raises(grpc.RpcError) as e:
            stub.GetOnlineFeatures(pb.GetOnlineFeaturesRequest(
                features=pb.FeatureList(val=["driver_hourly_stats:conv_rate"]),
                entities={"driver_id": RepeatedValue(val=[Value(string_val="x")])}), timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# --- bad input -----------------------------------------------------------------

GOOD = {"entities": {"driver_id": [1001]}, "features": ["driver_hourly_stats:conv_rate"]}

BAD_READS = [
    ("unknown view", {"entities": {"driver_id": [1]}, "features": ["nope:conv_rate"]},
     404, "FeatureViewNotFoundException", "Feature view nope does not exist"),
    ("unknown feature", {"entities": {"driver_id": [1]}, "features": ["driver_hourly_stats:nope"]},
     404, "FeastObjectNotFoundException", "nope"),
    ("unknown service", {"entities": {"driver_id": [1]}, "feature_service": "nope"},
     404, "FeatureServiceNotFoundException", "Feature service nope does not exist"),
    ("wrong entity key type", {"entities": {"driver_id": ["x"]}, "features": ["driver_hourly_stats:conv_rate"]},
     400, "FeastError", "driver_id"),
    ("mismatched column lengths", {"entities": {"driver_id": [1, 2], "customer_id": ["c1"]},
                                   "features": ["driver_hourly_stats:conv_rate", "customer_profile:age"]},
     400, "FeastError", "same columns"),
    ("too many rows", {"entities": {"driver_id": list(range(MAX_ROWS + 1))},
                       "features": ["driver_hourly_stats:conv_rate"]},
     400, "FeastError", f"at most {MAX_ROWS}"),
    ("missing entity column", {"entities": {"customer_id": ["c1"]}, "features": ["driver_hourly_stats:conv_rate"]},
     400, "FeastError", "driver_id"),
    ("bad reference", {"entities": {"driver_id": [1]}, "features": ["no_colon"]},
     400, "FeastError", "Invalid feature reference"),
    ("collision", {"entities": {"driver_id": [1], "customer_id": ["c1"]},
                   "features": ["driver_hourly_stats:conv_rate", "driver_hourly_stats:conv_rate"]},
     400, "FeastError", "Duplicate features"),
    ("on-demand view", {"entities": {"driver_id": [1], "distance": [2.0]}, "features": ["trip_cost:cost"]},
     501, "FeastError", "trip_cost"),
    ("no entities", {"features": ["driver_hourly_stats:conv_rate"]}, 400, "FeastError", "entities"),
]


@pytest.mark.parametrize("name,body,status,cls,text", BAD_READS, ids=[b[0] for b in BAD_READS])
def test_bad_reads_answer_4xx_with_feasts_error_body(env, name, body, status, cls, text):
    r = post(env, "/get-online-features", body)
    assert r.status_code == status, r.text
    detail = error_detail(r)
    assert detail["class"] == cls
    assert text in detail["message"]
    assert_still_serving(env)


@pytest.mark.parametrize("path", ["/get-online-features", "/push", "/write-to-online-store", "/materialize"])
def test_malformed_json_is_400(env, path):
    r = requests.post(env["url"] + path, data=b'{"entities": {"driver_id": [1,', timeout=10,
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "not valid JSON" in error_detail(r)["message"]
    assert_still_serving(env)


def test_bad_writes(env):
    now = env["now"]
    r = post(env, "/push", {"push_source_name": "nope", "df": {"driver_id": [1]}})
    assert r.status_code == 422, r.text
    assert error_detail(r)["class"] == "PushSourceNotFoundException"

    r = post(env, "/write-to-online-store", {"feature_view_name": "nope", "df": {"driver_id": [1]}})
    assert r.status_code == 404, r.text
    assert error_detail(r) == {"module": "feast.errors", "class": "FeastObjectNotFoundException",
                               "message": "Can't recognize feast object with a name nope"}

    base = {"driver_id": [1], "event_timestamp": [iso(now)], "created": [None], "conv_rate": [0.5],
            "acc_rate": [0.5], "avg_daily_trips": [5]}
    for df, text in [
        ({**base, "avg_daily_trips": ["five"]}, "avg_daily_trips"),
        ({**base, "driver_id": ["one"]}, "driver_id"),
        ({**base, "conv_rate": [0.5, 0.6]}, "same length"),
        ({k: v for k, v in base.items() if k != "acc_rate"}, "acc_rate"),
        ({**base, "event_timestamp": ["yesterday"]}, "ISO 8601"),
    ]:
        r = post(env, "/write-to-online-store", {"feature_view_name": "driver_hourly_stats", "df": df})
        assert r.status_code == 400, (df, r.text)
        assert text in error_detail(r)["message"], r.text
    r = post(env, "/push", {"push_source_name": "driver_stats_push", "to": "sideways", "df": base})
    assert r.status_code == 400 and "not a supported push format" in error_detail(r)["message"]
    assert_still_serving(env)


def test_materialize_bad_window_is_400(env):
    r = post(env, "/materialize", {"start_ts": "2026-01-02T00:00:00", "end_ts": "2026-01-01T00:00:00"})
    assert r.status_code == 400 and "must be before" in error_detail(r)["message"]
    r = post(env, "/materialize", {"end_ts": "2026-01-01T00:00:00"})
    assert r.status_code == 400 and "start_ts and end_ts are required" in error_detail(r)["message"]
    r = post(env, "/materialize-incremental", {"end_ts": "not a time"})
    assert r.status_code == 400, r.text


# --- durability ----------------------------------------------------------------

def test_rows_survive_a_restart(kiln_factory, tmp_path):
    srv = start_feast_kiln(kiln_factory)
    repo = write_feast_repo(tmp_path / "repo", srv)
    feast_cli(repo, "apply")
    now = utc_now_s()
    df = {"driver_id": [7, 8], "event_timestamp": [iso(now), iso(now)], "created": [None, None],
          "conv_rate": [0.5, 0.25], "acc_rate": [1.5, 2.5], "avg_daily_trips": [70, 80]}
    r = requests.post(srv.url + "/write-to-online-store", json={"feature_view_name": "driver_hourly_stats", "df": df},
                      timeout=30)
    assert r.status_code == 200, r.text
    query = {"entities": {"driver_id": [7, 8, 9]},
             "features": ["driver_hourly_stats:avg_daily_trips", "driver_hourly_stats:acc_rate"]}
    before = requests.post(srv.url + "/get-online-features", json=query, timeout=30).json()
    data_dir = srv.data_dir
    srv.stop(check=True)

    again = start_feast_kiln(kiln_factory, data_dir=data_dir)
    after = requests.post(again.url + "/get-online-features", json=query, timeout=30).json()
    assert after == before
    assert after["results"][1]["values"] == [70, 80, None]
    assert after["results"][2]["values"] == [1.5, 2.5, None]
    # The SDK, re-pointed at the restarted server, reads the same rows.
    write_feast_repo(repo, again)
    got = feature_store(repo).get_online_features(features=["driver_hourly_stats:avg_daily_trips"],
                                                   entity_rows=[{"driver_id": 8}]).to_dict()
    assert got["avg_daily_trips"] == [80]
