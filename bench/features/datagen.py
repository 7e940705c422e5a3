"""Synthetic data of the feature-store benchmark (numpy + pyarrow from the project venv).

Deterministic (numpy default_rng(seed)). Every file is Parquet with an `eid` Int64 join key,
`event_timestamp` and `created` as timestamp[us, UTC] and features f0..fN-1, Int64 for even i,
Float64 for odd i. Written once per scale into bench/.work/features-data-<scale>/ and reused.

  online.parquet          one row per entity (ONLINE_ENTITIES), ONLINE_FEATURES features,
                          event times within the hour before generation (the views' ttl is a year)
  mat.parquet             MAT_ROWS rows x MAT_FEATURES, one row per entity (MAT_ROWS distinct keys):
                          every source row is one online row written
  mat_small.parquet       the first FEAST_MAT_ROWS rows of mat.parquet (the scale Feast's Redis
                          materialization is timed at)
  hist.parquet            HIST_ROWS rows x HIST_FEATURES over HIST_ENTITIES entities (HIST_ROWS /
                          HIST_ENTITIES rows each, event times uniform over 30 days, ~5 % exact
                          event-time ties broken by `created`), shuffled
  entity_df.parquet       HIST_ENTITY_ROWS rows (eid uniform over 1.1 x HIST_ENTITIES: ~9 % unknown
                          keys; event_timestamp uniform over [start - 2 d, end + 2 d])
  hist_small.parquet,     the rows of both with eid % SMALL_DIV == 0: the same distribution at
  entity_df_small.parquet 1/SMALL_DIV of the size (the scale Feast's join is timed at by default)
"""
import json
import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

US = 1_000_000
DAY_US = 86_400 * US
# Fixed epoch of the offline data (the online data is stamped near generation time instead,
# so that no server marks it stale).
HIST_BASE_US = 1_790_000_000 * US  # 2026-09-21T...Z


def ts_array(us):
    return pa.array(us.astype("int64"), type=pa.timestamp("us", tz="UTC"))


def feature_columns(rng, n, nfeat):
    cols = {}
    for i in range(nfeat):
        if i % 2 == 0:
            cols[f"f{i}"] = pa.array(rng.integers(-1_000_000, 1_000_000, size=n, dtype=np.int64))
        else:
            cols[f"f{i}"] = pa.array(rng.random(n))
    return cols


def write(path, eid, event_us, created_us, feats):
    cols = {"eid": pa.array(eid.astype(np.int64)), "event_timestamp": ts_array(event_us),
            "created": ts_array(created_us)}
    cols.update(feats)
    tmp = path + ".tmp"
    pq.write_table(pa.table(cols), tmp, compression="snappy", row_group_size=1_000_000)
    os.replace(tmp, path)


def gen_online(rng, out, n, nfeat, now_us):
    eid = np.arange(n, dtype=np.int64)
    ev = now_us - rng.integers(60 * US, 3600 * US, size=n)
    write(os.path.join(out, "online.parquet"), eid, ev, ev + US, feature_columns(rng, n, nfeat))


def gen_mat(rng, out, n, nfeat, small_n):
    eid = rng.permutation(n).astype(np.int64) + 10_000_000_000  # disjoint from other views' keys
    ev = HIST_BASE_US + rng.integers(0, 30 * DAY_US, size=n)
    feats = feature_columns(rng, n, nfeat)
    write(os.path.join(out, "mat.parquet"), eid, ev, ev + US, feats)
    k = min(small_n, n)
    write(os.path.join(out, "mat_small.parquet"), eid[:k], ev[:k], ev[:k] + US,
          {c: v.slice(0, k) for c, v in feats.items()})


def gen_hist(rng, out, rows, entities, nfeat, entity_rows, small_div):
    per = max(1, rows // entities)
    n = per * entities
    eid = np.repeat(np.arange(entities, dtype=np.int64), per)
    ev = HIST_BASE_US + rng.integers(0, 30 * DAY_US, size=n)
    # ~5 % of rows copy the event time of the entity's previous row: ties that only `created`
    # decides (rows of one entity are adjacent before the shuffle).
    tie = rng.random(n) < 0.05
    tie[::per] = False
    idx = np.nonzero(tie)[0]
    ev[idx] = ev[idx - 1]
    created = ev + rng.integers(1, 3600 * US, size=n)
    feats = feature_columns(rng, n, nfeat)
    perm = rng.permutation(n)
    eid, ev, created = eid[perm], ev[perm], created[perm]
    feats = {c: v.take(pa.array(perm)) for c, v in feats.items()}
    write(os.path.join(out, "hist.parquet"), eid, ev, created, feats)
    m = eid % small_div == 0
    mi = pa.array(np.nonzero(m)[0])
    write(os.path.join(out, "hist_small.parquet"), eid[m], ev[m], created[m],
          {c: v.take(mi) for c, v in feats.items()})

    q_eid = rng.integers(0, int(entities * 1.1), size=entity_rows, dtype=np.int64)
    q_ts = HIST_BASE_US - 2 * DAY_US + rng.integers(0, 34 * DAY_US, size=entity_rows)
    ent = pa.table({"eid": pa.array(q_eid), "event_timestamp": ts_array(q_ts)})
    pq.write_table(ent, os.path.join(out, "entity_df.parquet"))
    qm = q_eid % small_div == 0
    pq.write_table(ent.filter(pa.array(qm)), os.path.join(out, "entity_df_small.parquet"))
    return {"hist_rows": int(n), "hist_small_rows": int(m.sum()), "entity_rows": int(entity_rows),
            "entity_small_rows": int(qm.sum()), "rows_per_entity": int(per),
            "tie_rows": int(tie.sum())}


def bodies(out, nfeat, entities, batch, seed):
    rng = np.random.default_rng(seed + 1)
    feats = [f"online:f{i}" for i in range(nfeat)]
    one = [int(rng.integers(0, entities))]
    many = [int(x) for x in rng.choice(entities, size=min(batch, entities), replace=False)]
    for name, ids in (("single.json", one), (f"batch{batch}.json", many)):
        with open(os.path.join(out, name), "w") as f:
            json.dump({"features": feats, "entities": {"eid": ids}, "full_feature_names": False}, f,
                      separators=(",", ":"))


def main(a):
    os.makedirs(a.out, exist_ok=True)
    meta_path = os.path.join(a.out, "meta.json")
    want = {k: getattr(a, k) for k in ("online_entities", "online_features", "mat_rows", "mat_features",
                                       "feast_mat_rows", "hist_rows", "hist_entities", "hist_features",
                                       "entity_rows", "small_div", "batch", "seed")}
    if os.path.exists(meta_path):
        old = json.load(open(meta_path))
        if old.get("params") == want and not a.force:
            print(json.dumps(old))
            return
    rng = np.random.default_rng(a.seed)
    t0 = time.time()
    now_us = int(time.time()) * US
    gen_online(rng, a.out, a.online_entities, a.online_features, now_us)
    bodies(a.out, a.online_features, a.online_entities, a.batch, a.seed)
    gen_mat(rng, a.out, a.mat_rows, a.mat_features, a.feast_mat_rows)
    info = gen_hist(rng, a.out, a.hist_rows, a.hist_entities, a.hist_features, a.entity_rows, a.small_div)
    meta = {"params": want, "generated_at_us": now_us, "hist_base_us": HIST_BASE_US,
            "hist_span_days": 30, "mat_rows": a.mat_rows, "mat_small_rows": min(a.mat_rows, a.feast_mat_rows),
            "gen_s": round(time.time() - t0, 1), **info,
            "bytes": {f: os.path.getsize(os.path.join(a.out, f)) for f in sorted(os.listdir(a.out))
                      if f.endswith(".parquet")}}
    with open(meta_path, "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta))
