#!/usr/bin/env python3
"""Reference models and predictions for kiln's native XGBoost evaluator.

Run by each reference xgboost's own Python (.venv-xgb/<version>/bin/python,
made by scripts/setup.sh). Trains small models on seeded random data (about
8% NaN), saves each in every format this xgboost writes, and records what
this xgboost predicts for separate rows that also hold +-inf (and, for the
categorical models, categories that are negative, fractional, unseen or
huge), so tests/compat/test_serving_xgboost_matrix.py can check that kiln
answers exactly what the library that wrote the model answers.

Usage: gen_xgboost.py OUT_DIR

For each model NAME it writes OUT_DIR/NAME/:
  model.json, model.ubj   (where this version writes them)
  model.bst               the legacy binary format (save_raw("deprecated")),
                          for the versions and models that still have it
  model.xgb               save_model("model.xgb") as MLflow does: legacy binary
                          from 1.x, UBJSON from 2.1
  x.f32                   rows*features little-endian float32, row-major
  pred.f32                rows*outputs float32: Booster.predict(DMatrix(x)), and
                          Booster.inplace_predict for the rows holding +-inf
and OUT_DIR/manifest.json: {"xgboost": version, "models": {NAME: {"objective",
"rows", "features", "outputs", "formats", "refused_formats"}}}.

DMatrix refuses +-inf ("Input data contains `inf`") while inplace
prediction, which kiln's old libxgboost runtime used too, evaluates them as
ordinary values; so rows with inf take inplace_predict's answer, the others
predict()'s, and the script checks that both paths agree on the latter.

Also writes OUT_DIR/refuse/: models kiln must refuse at load (gblinear).
Deterministic (fixed seeds, one thread).
"""

import json
import os
import sys
import warnings

import numpy as np

try:
    import xgboost as xgb
except ImportError:
    sys.exit("gen_xgboost.py: the xgboost package is not installed in this Python; run scripts/setup.sh")

warnings.filterwarnings("ignore")

VERSION = tuple(int(p) for p in xgb.__version__.split(".")[:2])
TRAIN_ROWS = 1000
PREDICT_ROWS = 1200
FEATURES = 8
CAT_SMALL = 6   # categorical feature with 4 levels (one-hot splits)
CAT_LARGE = 7   # categorical feature with 20 levels (partition splits)
ROUNDS = 12


def features(rng, rows, for_prediction, categorical=False):
    x = rng.normal(size=(rows, FEATURES))
    if categorical:
        x[:, CAT_SMALL] = rng.integers(0, 4, size=rows)
        x[:, CAT_LARGE] = rng.integers(0, 20, size=rows)
    x[rng.random(x.shape) < 0.08] = np.nan
    if for_prediction:
        # +-inf and huge values as ordinary inputs; values equal to common
        # thresholds are covered by the random draw only by chance.
        specials = [np.inf, -np.inf, 1e30, -1e30, 0.0, -0.0]
        num_cols = range(CAT_SMALL) if categorical else range(FEATURES)
        for c in num_cols:
            idx = rng.random(rows) < 0.04
            x[idx, c] = rng.choice(specials, size=idx.sum())
        if categorical:
            bad = [-1.0, -0.5, 0.5, 2.5, 3.99, 4.0, 19.5, 20.0, 31.0, 32.0, 33.0, 64.0, 1000.0, 1e9,
                   16777215.0, 16777216.0, np.inf, -np.inf]
            for c in (CAT_SMALL, CAT_LARGE):
                idx = rng.random(rows) < 0.15
                x[idx, c] = rng.choice(bad, size=idx.sum())
    return x.astype(np.float32)


def signal(x):
    v = np.nan_to_num(x, nan=0.0, posinf=3.0, neginf=-3.0)
    return v[:, 0] - 0.8 * v[:, 1] + 0.5 * v[:, 2] * v[:, 3] + 0.3 * v[:, 4]


def labels(kind, rng, x):
    s = signal(x) + rng.normal(scale=0.3, size=len(x))
    if kind == "binary":
        return (s > 0).astype(np.float32)
    if kind == "unit":
        return 1.0 / (1.0 + np.exp(-s))
    if kind == "count":
        return rng.poisson(np.exp(0.4 * s.clip(-3, 3)))
    if kind == "positive":
        return np.exp(0.3 * s.clip(-4, 4)) + 0.01
    if kind == "tweedie":
        y = rng.poisson(np.exp(0.4 * s.clip(-3, 3))) * np.exp(0.2 * s.clip(-3, 3))
        return y
    if kind == "class":
        v = np.nan_to_num(x, nan=0.0)
        scores = np.stack([s, v[:, 2] - v[:, 0], 0.5 * v[:, 3], v[:, 5]], axis=1)
        return np.argmax(scores + rng.normal(scale=0.5, size=scores.shape), axis=1)
    if kind == "rank":
        return np.clip(np.round(s + 1.5), 0, 4)
    if kind == "targets":
        v = np.nan_to_num(x, nan=0.0)
        return np.stack([s, v[:, 2] - v[:, 5], 0.5 * v[:, 3] + v[:, 1] ** 2], axis=1)
    if kind == "cox":  # survival times; negative means right-censored
        t = np.exp(-0.5 * s.clip(-3, 3)) + 0.05
        return np.where(rng.random(len(x)) < 0.2, -t, t)
    if kind == "aft":  # interval-censored survival times, set as bounds in train_one
        return np.exp(0.3 * s.clip(-4, 4)) + 0.1
    if kind == "cat":
        cats = np.nan_to_num(x[:, CAT_LARGE], nan=0.0)
        return ((s + np.where(np.isin(cats, [1, 3, 4, 8, 10, 15]), 1.5, -1.0)
                 + 0.7 * (x[:, CAT_SMALL] == 2)) > 0).astype(np.float32)
    return s


# name -> (params, label kind, extra options). Objectives each version lacks
# are left out by `supported`.
MODELS = {
    "binary-logistic": ({"objective": "binary:logistic"}, "binary", {}),
    "binary-logitraw": ({"objective": "binary:logitraw"}, "binary", {}),
    "reg-squarederror": ({"objective": "reg:squarederror"}, "reg", {}),
    "reg-base-score": ({"objective": "reg:squarederror", "base_score": 2.5}, "reg", {}),
    "reg-logistic": ({"objective": "reg:logistic"}, "unit", {}),
    "count-poisson": ({"objective": "count:poisson"}, "count", {}),
    "reg-tweedie": ({"objective": "reg:tweedie", "tweedie_variance_power": 1.4}, "tweedie", {}),
    "reg-gamma": ({"objective": "reg:gamma"}, "positive", {}),
    "multi-softprob": ({"objective": "multi:softprob", "num_class": 4}, "class", {}),
    "multi-softmax": ({"objective": "multi:softmax", "num_class": 4}, "class", {}),
    "rank-pairwise": ({"objective": "rank:pairwise"}, "rank", {"groups": True}),
    "rank-ndcg": ({"objective": "rank:ndcg"}, "rank", {"groups": True}),
    "quantile": ({"objective": "reg:quantileerror", "quantile_alpha": [0.1, 0.5, 0.9]}, "reg", {}),
    "categorical": ({"objective": "binary:logistic", "tree_method": "hist", "max_cat_to_onehot": 5},
                    "cat", {"categorical": True}),
    "categorical-softprob": ({"objective": "multi:softprob", "num_class": 4, "tree_method": "hist",
                              "max_cat_to_onehot": 1}, "class", {"categorical": True}),
    "multi-target": ({"objective": "reg:squarederror", "tree_method": "hist"}, "targets", {}),
    "multi-output-tree": ({"objective": "reg:squarederror", "tree_method": "hist",
                           "multi_strategy": "multi_output_tree"}, "targets", {}),
    "dart": ({"objective": "binary:logistic", "booster": "dart", "rate_drop": 0.2, "skip_drop": 0.0},
             "binary", {}),
    "random-forest": ({"objective": "binary:logistic", "num_parallel_tree": 4, "subsample": 0.8,
                       "colsample_bynode": 0.8}, "binary", {}),
    "binary-hinge": ({"objective": "binary:hinge"}, "binary", {}),
    "reg-absoluteerror": ({"objective": "reg:absoluteerror"}, "reg", {}),
    "reg-pseudohubererror": ({"objective": "reg:pseudohubererror"}, "reg", {}),
    "reg-squaredlogerror": ({"objective": "reg:squaredlogerror"}, "positive", {}),
    "survival-cox": ({"objective": "survival:cox"}, "cox", {}),
    "rank-map": ({"objective": "rank:map"}, "binary", {"groups": True}),
    "survival-aft": ({"objective": "survival:aft", "aft_loss_distribution": "logistic"}, "aft", {}),
}


def supported(name):
    if VERSION < (2, 0) and name in ("quantile", "multi-output-tree"):
        return False  # reg:quantileerror and multi_strategy arrived in 2.0
    return True


def dmatrix(x, y, categorical, **kw):
    if categorical:
        types = ["q"] * CAT_SMALL + ["c", "c"]
        return xgb.DMatrix(x, label=y, feature_types=types, enable_categorical=True, **kw)
    return xgb.DMatrix(x, label=y, **kw)


def save_formats(booster, out_dir):
    formats, refused = [], {}
    for fmt in ("json", "ubj"):
        booster.save_model(os.path.join(out_dir, f"model.{fmt}"))
        formats.append(fmt)
    # What MLflow's xgboost flavor writes: the format follows the version
    # (legacy binary in 1.x, UBJSON from 2.1 on), so kiln must tell by content.
    try:
        booster.save_model(os.path.join(out_dir, "model.xgb"))
        formats.append("xgb")
    except Exception as e:
        refused["xgb"] = str(e).split("\n")[0][:300]
    try:
        raw = booster.save_raw("deprecated")
        with open(os.path.join(out_dir, "model.bst"), "wb") as f:
            f.write(bytes(raw))
        formats.append("bst")
    except Exception as e:  # the version or the model has no legacy binary form
        refused["bst"] = str(e).split("\n")[0][:300]
    return formats, refused


def train_one(name, seed, out_root):
    params, kind, opts = MODELS[name]
    rng = np.random.default_rng(seed)
    categorical = opts.get("categorical", False)
    x = features(rng, TRAIN_ROWS, False, categorical)
    y = labels(kind, rng, x)
    dtrain = dmatrix(x, y, categorical)
    if opts.get("groups"):
        dtrain.set_group([TRAIN_ROWS // 20] * 20)
    if kind == "aft":
        upper = np.where(rng.random(len(y)) < 0.3, np.inf, y * 1.2)
        dtrain.set_float_info("label_lower_bound", y)
        dtrain.set_float_info("label_upper_bound", upper)
    full = {"max_depth": 5, "eta": 0.3, "nthread": 1, "seed": seed, **params}
    booster = xgb.train(full, dtrain, num_boost_round=ROUNDS)

    xp = features(rng, PREDICT_ROWS, True, categorical)
    pred = np.asarray(booster.inplace_predict(xp), dtype=np.float32)
    finite = ~np.isinf(xp).any(axis=1)
    check = np.asarray(booster.predict(dmatrix(xp[finite], None, categorical)), dtype=np.float32)
    # DART's two paths sum the weighted trees in a different order (1 ulp).
    err = np.abs(check.astype(np.float64) - pred[finite]) / np.maximum(np.abs(check), 1e-3)
    if err.size and err.max() > 1e-6:
        sys.exit(f"gen_xgboost.py: {name}: predict() and inplace_predict() differ by {err.max()}")
    pred[finite] = check

    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    formats, refused = save_formats(booster, d)
    xp.astype("<f4").tofile(os.path.join(d, "x.f32"))
    pred.astype("<f4").tofile(os.path.join(d, "pred.f32"))
    return {"objective": params["objective"], "rows": PREDICT_ROWS, "features": FEATURES,
            "outputs": 1 if pred.ndim == 1 else int(pred.shape[1]), "formats": formats,
            "refused_formats": refused}


def refusals(out_root):
    d = os.path.join(out_root, "refuse")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(99)
    x = features(rng, 200, False)
    booster = xgb.train({"booster": "gblinear", "objective": "reg:squarederror", "nthread": 1},
                        xgb.DMatrix(x, label=labels("reg", rng, x)), num_boost_round=3)
    booster.save_model(os.path.join(d, "gblinear.json"))
    booster.save_model(os.path.join(d, "gblinear.ubj"))
    if VERSION < (3, 0):
        with open(os.path.join(d, "gblinear.bst"), "wb") as f:
            f.write(bytes(booster.save_raw("deprecated")))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_xgboost.py OUT_DIR")
    out_root = sys.argv[1]
    os.makedirs(out_root, exist_ok=True)
    manifest = {"xgboost": xgb.__version__, "models": {}}
    for i, name in enumerate(MODELS):
        if supported(name):
            manifest["models"][name] = train_one(name, 100 + i, out_root)
    refusals(out_root)
    with open(os.path.join(out_root, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
