#!/usr/bin/env python3
"""Reference outputs for kiln's native LightGBM evaluator.

Trains small models with the real `lightgbm` package on seeded random data
(NaNs in about 10% of the values, one categorical feature, a feature with exact
zeros), saves each as LightGBM's text format and records what
`Booster.predict` returns on separate random rows, so that
src/serving/lightgbm_model_test.cc can compare kiln's outputs with them.

Usage: gen_lightgbm.py OUT_DIR

For each model NAME it writes OUT_DIR/NAME/:
  model.txt    the model (Booster.save_model)
  shape.txt    "rows features outputs"
  x.f64        rows*features little-endian float64, row-major (NaN = missing);
               every value is exactly representable as float32, so the FP32
               tensor path can be checked against the same expectations
  pred.f64     rows*outputs: Booster.predict(x)
  raw.f64      rows*outputs: Booster.predict(x, raw_score=True)
and OUT_DIR/models.txt lists the model names.

Deterministic (fixed seeds, one thread) and fast (a few seconds).
"""

import os
import sys

import numpy as np

try:
    import lightgbm as lgb
except ImportError:  # the test prints this; the venv is what `make setup` builds
    sys.exit("gen_lightgbm.py: the lightgbm package is not installed in this Python; run `make setup`")

TRAIN_ROWS = 2000
PREDICT_ROWS = 2000
NUM_FEATURES = 6
CAT = 4  # index of the categorical feature (integer levels 0..11)
ZERO = 5  # index of the feature with many exact zeros (zero_as_missing model)
CAT_LEVELS = 12


def features(rng, rows, for_prediction):
    x = rng.normal(size=(rows, NUM_FEATURES))
    x[:, CAT] = rng.integers(0, CAT_LEVELS, size=rows)
    x[rng.random(rows) < 0.3, ZERO] = 0.0
    # NaN in ~10% of the values. Features 2 and 3 see no NaN in training, so
    # their splits get missing type None and a NaN at prediction is read as 0.
    nan_cols = list(range(NUM_FEATURES)) if for_prediction else [0, 1, CAT, ZERO]
    for c in nan_cols:
        x[rng.random(rows) < 0.1, c] = np.nan
    if for_prediction:
        # Edge values: signed zeros, values inside LightGBM's zero threshold,
        # huge magnitudes, infinities, and categories that are unseen,
        # negative, fractional or past INT_MAX.
        specials = [0.0, -0.0, 1e-40, -1e-40, 1e-36, 1e30, -1e30, np.inf, -np.inf]
        for c in range(NUM_FEATURES):
            if c == CAT:
                continue
            idx = rng.random(rows) < 0.05
            x[idx, c] = rng.choice(specials, size=idx.sum())
        cat_specials = [-1.0, -0.5, 2.5, 7.99, 12.0, 15.0, 40.0, 1e10, -1e10, np.inf, -np.inf]
        idx = rng.random(rows) < 0.1
        x[idx, CAT] = rng.choice(cat_specials, size=idx.sum())
    # Exactly representable in float32, so FP32 and FP64 inputs mean the same.
    return x.astype(np.float32).astype(np.float64)


def signal(x):
    v = np.nan_to_num(x, nan=0.0)
    cat_effect = np.where(np.isin(x[:, CAT], [1, 3, 4, 8, 10]), 1.5, -0.5)
    return v[:, 0] - 0.8 * v[:, 1] + 0.5 * v[:, 2] * v[:, 3] + cat_effect + 0.7 * (x[:, ZERO] == 0)


def multiclass_labels(rng, x):
    v = np.nan_to_num(x, nan=0.0)
    scores = np.stack([signal(x), v[:, 2] - v[:, 0], 0.5 * v[:, 3] + (x[:, CAT] % 3 == 0)], axis=1)
    return np.argmax(scores + rng.normal(scale=0.5, size=scores.shape), axis=1)


BASE_PARAMS = {
    "verbose": -1,
    "seed": 7,
    "deterministic": True,
    "num_threads": 1,
    "force_col_wise": True,
    "num_leaves": 15,
    "min_data_in_leaf": 10,
    "learning_rate": 0.1,
    # Categorical splits with several categories per side (bitsets), not one-hot.
    "max_cat_to_onehot": 2,
    "min_data_per_group": 10,
    "cat_smooth": 1.0,
}


def models(rng, x):
    s = signal(x)
    noise = rng.normal(scale=0.3, size=len(x))
    binary = (s + noise > 0.3).astype(float)
    return [
        # name, extra params, labels, rounds
        ("binary", {"objective": "binary"}, binary, 60),
        ("multiclass", {"objective": "multiclass", "num_class": 3}, multiclass_labels(rng, x), 40),
        ("regression", {"objective": "regression", "zero_as_missing": True}, s + noise, 60),
        ("binary_sigmoid", {"objective": "binary", "sigmoid": 0.6}, binary, 30),
        ("multiclassova", {"objective": "multiclassova", "num_class": 3}, multiclass_labels(rng, x), 20),
        ("poisson", {"objective": "poisson"}, rng.poisson(np.exp(0.3 * np.clip(s, -3, 3))), 30),
        ("regression_sqrt", {"objective": "regression", "reg_sqrt": True}, 3 * (s + noise), 30),
        ("cross_entropy", {"objective": "cross_entropy"}, 1 / (1 + np.exp(-(s + noise))), 30),
        ("random_forest", {"objective": "binary", "boosting": "rf", "bagging_fraction": 0.7,
                           "bagging_freq": 1, "feature_fraction": 0.8}, binary, 20),
    ]


def coverage(booster):
    """Which decision kinds the model's trees use (from LightGBM's own dump)."""
    seen = set()

    def walk(node):
        if "split_index" not in node:
            return
        seen.add("categorical" if node["decision_type"] == "==" else "missing:" + node["missing_type"])
        if node["decision_type"] != "==" and node["default_left"]:
            seen.add("default_left")
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    return seen


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    rng = np.random.default_rng(20240611)
    x_train = features(rng, TRAIN_ROWS, for_prediction=False)
    x_pred = features(rng, PREDICT_ROWS, for_prediction=True)
    names = []
    all_seen = set()
    for name, extra, labels, rounds in models(rng, x_train):
        params = dict(BASE_PARAMS, **extra)
        data = lgb.Dataset(x_train, label=labels, categorical_feature=[CAT], free_raw_data=False)
        trained = lgb.train(params, data, num_boost_round=rounds)
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "model.txt")
        trained.save_model(path)
        # Predict with the model as read back from the file: that is what kiln loads.
        booster = lgb.Booster(model_file=path)
        pred = np.asarray(booster.predict(x_pred), dtype="<f8")
        raw = np.asarray(booster.predict(x_pred, raw_score=True), dtype="<f8")
        outputs = 1 if pred.ndim == 1 else pred.shape[1]
        np.ascontiguousarray(x_pred, dtype="<f8").tofile(os.path.join(d, "x.f64"))
        np.ascontiguousarray(pred, dtype="<f8").tofile(os.path.join(d, "pred.f64"))
        np.ascontiguousarray(raw, dtype="<f8").tofile(os.path.join(d, "raw.f64"))
        with open(os.path.join(d, "shape.txt"), "w") as f:
            f.write(f"{PREDICT_ROWS} {NUM_FEATURES} {outputs}\n")
        names.append(name)
        all_seen |= coverage(booster)
    # The parity check is only as good as the decisions the models exercise.
    wanted = {"categorical", "missing:NaN", "missing:Zero", "missing:None", "default_left"}
    if not wanted <= all_seen:
        sys.exit(f"gen_lightgbm.py: the trained models miss decision kinds {sorted(wanted - all_seen)}")
    with open(os.path.join(out, "models.txt"), "w") as f:
        f.write("\n".join(names) + "\n")
    print(f"gen_lightgbm.py: lightgbm {lgb.__version__}, {len(names)} models, decisions {sorted(all_seen)}")


if __name__ == "__main__":
    main()
