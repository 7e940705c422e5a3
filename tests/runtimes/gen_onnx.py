#!/usr/bin/env python3
"""Reference outputs for kiln's native ONNX executor.

Trains small scikit-learn, XGBoost and LightGBM models on seeded random data,
exports them with skl2onnx / onnxmltools exactly as users do (default
options, ZipMap included unless the name says otherwise) and records what
onnxruntime returns on separate random rows, so that
src/serving/onnx_runtime_test.cc can compare kiln's outputs with them.

Usage: gen_onnx.py OUT_DIR

For each model NAME it writes OUT_DIR/NAME/:
  model.onnx    the exported model
  ops.txt       the graph's operators, one "domain op_type" per line
  tensors.txt   one line per tensor: "in|out INDEX NAME DATATYPE DIM..."
                (V2 datatype names; ZipMap outputs become FP32 [rows, classes]
                in class-label order, which is what kiln serves for them)
  in_INDEX.bin / out_INDEX.bin
                row-major little-endian values; BYTES as kiln's layout
                (4-byte little-endian length, then the bytes, per element)
and OUT_DIR/models.txt lists the model names.

Deterministic (fixed seeds) and fast (well under a minute).
"""

import os
import struct
import sys
import warnings

import numpy as np

try:
    import onnx
    import onnxruntime as ort
    import onnxmltools
    import lightgbm as lgb
    import xgboost as xgb
    from onnxmltools.convert.common.data_types import FloatTensorType as MlFloatTensorType
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import LabelEncoder, MinMaxScaler, Normalizer, OneHotEncoder, StandardScaler
except ImportError as e:  # the test prints this; the venv is what `make setup` builds
    sys.exit(f"gen_onnx.py: {e}; run `make setup`")

warnings.filterwarnings("ignore")

TRAIN_ROWS = 1500
PREDICT_ROWS = 1200
FEATURES = 6


def features(rng, rows, nan_fraction):
    x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    x[:, 3] = np.round(x[:, 3] * 2)  # ties at split thresholds exercise LEQ vs LT
    if nan_fraction:
        x[rng.random(x.shape) < nan_fraction] = np.nan
    return x


def binary_labels(x):
    v = np.nan_to_num(x)
    return (v[:, 0] - 0.7 * v[:, 1] + 0.4 * v[:, 2] * v[:, 3] > 0).astype(np.int64)


def multiclass_labels(x):
    v = np.nan_to_num(x)
    return np.digitize(v[:, 0] + 0.5 * v[:, 4] - 0.3 * v[:, 3], [-0.6, 0.2, 0.9]).astype(np.int64)


def target(x):
    v = np.nan_to_num(x)
    return 3.0 * v[:, 0] - 2.0 * v[:, 1] + v[:, 2] * v[:, 3] + 0.5 * np.sin(v[:, 4]) + 10.0


DTYPES = {"f4": "FP32", "f8": "FP64", "i8": "INT64", "i4": "INT32", "b1": "BOOL"}


def encode(value):
    """(V2 datatype, shape, bytes) of one onnxruntime output or input."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        # ZipMap: a list of {label: probability}; kiln serves the matrix.
        keys = list(value[0].keys())
        value = np.array([[row[k] for k in keys] for row in value], dtype=np.float32)
    value = np.asarray(value)
    if value.dtype.kind in ("U", "S", "O"):
        out = bytearray()
        for s in value.reshape(-1):
            b = s.encode() if isinstance(s, str) else bytes(s)
            out += struct.pack("<I", len(b)) + b
        return "BYTES", value.shape, bytes(out)
    return DTYPES[value.dtype.str[1:]], value.shape, value.astype(value.dtype.newbyteorder("<")).tobytes()


def write(out_dir, name, model, feeds):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    data = model.SerializeToString()
    with open(os.path.join(d, "model.onnx"), "wb") as f:
        f.write(data)
    with open(os.path.join(d, "ops.txt"), "w") as f:
        for n in model.graph.node:
            f.write(f"{n.domain or 'ai.onnx'} {n.op_type}\n")
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    outputs = sess.run(None, feeds)
    lines = []
    for i, inp in enumerate(sess.get_inputs()):
        dt, shape, raw = encode(feeds[inp.name])
        lines.append(" ".join(["in", str(i), inp.name, dt] + [str(s) for s in shape]))
        with open(os.path.join(d, f"in_{i}.bin"), "wb") as f:
            f.write(raw)
    for i, (out, value) in enumerate(zip(sess.get_outputs(), outputs)):
        dt, shape, raw = encode(value)
        lines.append(" ".join(["out", str(i), out.name, dt] + [str(s) for s in shape]))
        with open(os.path.join(d, f"out_{i}.bin"), "wb") as f:
            f.write(raw)
    with open(os.path.join(d, "tensors.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{name}: {' '.join(ops)}")
    return name


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(20240611)
    x = features(rng, TRAIN_ROWS, 0.0)
    x_nan = features(rng, TRAIN_ROWS, 0.1)
    p = features(rng, PREDICT_ROWS, 0.0)
    p_nan = features(rng, PREDICT_ROWS, 0.1)
    yb, ym, yr = binary_labels(x), multiclass_labels(x), target(x)
    ym_nan, yr_nan = multiclass_labels(x_nan), target(x_nan)
    names = []
    feed = {"X": p}
    feed_nan = {"X": p_nan}

    def sk(model, sample=x, **kw):
        return to_onnx(model, sample[:1], **kw)

    m = LogisticRegression(max_iter=500).fit(x, yb)
    names.append(write(out_dir, "logreg_binary", sk(m), feed))
    m = LogisticRegression(max_iter=500).fit(x, ym)
    names.append(write(out_dir, "logreg_multiclass", sk(m), feed))
    names.append(write(out_dir, "logreg_multiclass_nozipmap",
                       sk(m, options={id(m): {"zipmap": False}}), feed))

    m = RandomForestClassifier(n_estimators=20, max_depth=7, random_state=1).fit(x_nan, ym_nan)
    names.append(write(out_dir, "rf_classifier", sk(m, x_nan), feed_nan))
    m = RandomForestClassifier(n_estimators=15, max_depth=6, random_state=16).fit(x, yb)
    names.append(write(out_dir, "rf_binary", sk(m), feed))
    labels = np.array(["cat", "dog", "emu", "yak"])[ym]
    m = RandomForestClassifier(n_estimators=10, max_depth=6, random_state=2).fit(x, labels)
    names.append(write(out_dir, "rf_classifier_strings", sk(m), feed))
    m = RandomForestRegressor(n_estimators=20, max_depth=8, random_state=3).fit(x_nan, yr_nan)
    names.append(write(out_dir, "rf_regressor", sk(m, x_nan), feed_nan))

    m = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=4).fit(x, yb)
    names.append(write(out_dir, "gb_binary", sk(m), feed))
    m = GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=5).fit(x, ym)
    names.append(write(out_dir, "gb_multiclass_nozipmap", sk(m, options={id(m): {"zipmap": False}}), feed))
    m = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=6).fit(x, yr)
    names.append(write(out_dir, "gb_regressor", sk(m), feed))

    m = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(), LinearRegression()).fit(x_nan, yr_nan)
    names.append(write(out_dir, "pipeline_imputer_scaler_linreg", sk(m, x_nan), feed_nan))
    m = make_pipeline(MinMaxScaler(), Normalizer(norm="l2"), Ridge(alpha=0.5)).fit(x, yr)
    names.append(write(out_dir, "pipeline_minmax_normalizer_ridge", sk(m), feed))
    m = make_pipeline(StandardScaler(), Normalizer(norm="l1"), LogisticRegression(max_iter=500)).fit(x, ym)
    names.append(write(out_dir, "pipeline_scaler_l1_logreg", sk(m), feed))

    m = MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=300, random_state=7).fit(x, ym)
    names.append(write(out_dir, "mlp_classifier", sk(m), feed))
    m = MLPClassifier(hidden_layer_sizes=(12,), activation="tanh", max_iter=300, random_state=8).fit(x, yb)
    names.append(write(out_dir, "mlp_binary_tanh_nozipmap", sk(m, options={id(m): {"zipmap": False}}), feed))
    m = MLPRegressor(hidden_layer_sizes=(16,), activation="logistic", max_iter=400, random_state=9).fit(x, yr)
    names.append(write(out_dir, "mlp_regressor", sk(m), feed))

    # Integer categories one-hot encoded before a linear model (INT64 input).
    xi = rng.integers(0, 5, size=(TRAIN_ROWS, 3)).astype(np.int64)
    yi = ((xi[:, 0] == 2) | (xi[:, 1] + xi[:, 2] > 5)).astype(np.int64)
    pi = rng.integers(0, 7, size=(PREDICT_ROWS, 3)).astype(np.int64)  # 5 and 6 unseen
    m = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression(max_iter=500)).fit(xi, yi)
    names.append(write(out_dir, "onehot_logreg", to_onnx(m, initial_types=[("X", Int64TensorType([None, 3]))]),
                       {"X": pi}))
    # LabelEncoder over strings (BYTES in, INT64 out).
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon"])
    m = LabelEncoder().fit(words)
    pw = rng.choice(words, size=PREDICT_ROWS)
    names.append(write(out_dir, "label_encoder",
                       to_onnx(m, initial_types=[("X", StringTensorType([None]))]), {"X": pw}))

    m = xgb.XGBClassifier(n_estimators=25, max_depth=4, random_state=10, n_jobs=1).fit(x_nan, ym_nan)
    mx = onnxmltools.convert_xgboost(m, initial_types=[("X", MlFloatTensorType([None, FEATURES]))])
    names.append(write(out_dir, "xgb_multiclass", mx, feed_nan))
    m = xgb.XGBClassifier(n_estimators=25, max_depth=4, random_state=11, n_jobs=1).fit(x_nan, binary_labels(x_nan))
    mx = onnxmltools.convert_xgboost(m, initial_types=[("X", MlFloatTensorType([None, FEATURES]))])
    names.append(write(out_dir, "xgb_binary", mx, feed_nan))
    m = xgb.XGBRegressor(n_estimators=25, max_depth=4, random_state=12, n_jobs=1).fit(x_nan, yr_nan)
    mx = onnxmltools.convert_xgboost(m, initial_types=[("X", MlFloatTensorType([None, FEATURES]))])
    names.append(write(out_dir, "xgb_regressor", mx, feed_nan))

    m = lgb.LGBMClassifier(n_estimators=25, num_leaves=15, random_state=13, n_jobs=1, verbose=-1).fit(x_nan, ym_nan)
    ml = onnxmltools.convert_lightgbm(m, initial_types=[("X", MlFloatTensorType([None, FEATURES]))])
    names.append(write(out_dir, "lgbm_multiclass", ml, feed_nan))
    m = lgb.LGBMClassifier(n_estimators=25, num_leaves=15, random_state=14, n_jobs=1, verbose=-1).fit(
        x_nan, binary_labels(x_nan))
    ml = onnxmltools.convert_lightgbm(m, initial_types=[("X", MlFloatTensorType([None, FEATURES]))], zipmap=False)
    names.append(write(out_dir, "lgbm_binary_nozipmap", ml, feed_nan))
    m = lgb.LGBMRegressor(n_estimators=25, num_leaves=15, random_state=15, n_jobs=1, verbose=-1).fit(x_nan, yr_nan)
    ml = onnxmltools.convert_lightgbm(m, initial_types=[("X", MlFloatTensorType([None, FEATURES]))])
    names.append(write(out_dir, "lgbm_regressor", ml, feed_nan))

    with open(os.path.join(out_dir, "models.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


if __name__ == "__main__":
    main()
