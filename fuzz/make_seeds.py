#!/usr/bin/env python3
"""Writes the hand-written seeds of fuzz/corpus/ (files named seed_*).

Run from anywhere: python3 fuzz/make_seeds.py. The fuzzer-grown files that
`-merge=1` keeps sit next to them under their SHA-1 names.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
JSON_DIR = os.path.join(HERE, "corpus", "v2_json_request_fuzzer")
BIN_DIR = os.path.join(HERE, "corpus", "v2_binary_request_fuzzer")

SAMPLES = {
    "BOOL": [True, False, True, False],
    "UINT8": [0, 1, 254, 255],
    "UINT16": [0, 1, 65534, 65535],
    "UINT32": [0, 1, 4294967294, 4294967295],
    "UINT64": [0, 1, 9223372036854775808, 18446744073709551615],
    "INT8": [-128, -1, 0, 127],
    "INT16": [-32768, -1, 0, 32767],
    "INT32": [-2147483648, -1, 0, 2147483647],
    "INT64": [-9223372036854775808, -1, 0, 9223372036854775807],
    "FP32": [1.5, -0.0, 3.4e38, 1e-45],
    "FP64": [1.5, -0.0, 1e300, 5e-324],
    "BYTES": ["a", "", "h\u00e9llo", "\u0000x"],
}
PACK = {"BOOL": "?", "UINT8": "B", "UINT16": "H", "UINT32": "I", "UINT64": "Q", "INT8": "b", "INT16": "h",
        "INT32": "i", "INT64": "q", "FP32": "f", "FP64": "d", "FP16": "e"}


def raw(dtype, values):
    if dtype == "BYTES":
        out = b""
        for v in values:
            b = v.encode() if isinstance(v, str) else v
            out += struct.pack("<I", len(b)) + b
        return out
    return struct.pack("<%d%s" % (len(values), PACK[dtype]), *values)


def write(directory, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, "seed_" + name), "wb") as f:
        f.write(data)


def binary_input(header, tail):
    """A binary fuzzer input: 2-byte LE json_length, header, raw bytes."""
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<H", len(h)) + h + tail


def main():
    os.makedirs(JSON_DIR, exist_ok=True)
    os.makedirs(BIN_DIR, exist_ok=True)
    for dtype, values in SAMPLES.items():
        flat = {"id": "r-" + dtype.lower(), "inputs": [{"name": "x", "shape": [4], "datatype": dtype, "data": values}]}
        write(JSON_DIR, "flat_" + dtype.lower() + ".json", json.dumps(flat))
        nested = {"inputs": [{"name": "x", "shape": [2, 2], "datatype": dtype, "data": [values[:2], values[2:]]}],
                  "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}
        write(JSON_DIR, "nested_" + dtype.lower() + ".json", json.dumps(nested))
        header = {"inputs": [{"name": "x", "shape": [2, 2], "datatype": dtype,
                              "parameters": {"binary_data_size": len(raw(dtype, values))}}]}
        write(BIN_DIR, "binary_" + dtype.lower(), binary_input(header, raw(dtype, values)))
    # FP16 only travels as binary.
    header = {"inputs": [{"name": "h", "shape": [3], "datatype": "FP16", "parameters": {"binary_data_size": 6}}]}
    write(BIN_DIR, "binary_fp16", binary_input(header, raw("FP16", [1.0, -2.0, 0.5])))
    # Python/rapidjson non-finite literals, and nulls.
    write(JSON_DIR, "nonfinite_literals.json",
          '{"inputs":[{"name":"x","shape":[5],"datatype":"FP64","data":[NaN,Infinity,-Infinity,"NaN",null]}]}')
    write(JSON_DIR, "nonfinite_in_strings.json",
          '{"id":"NaN Infinity","inputs":[{"name":"NaN","shape":[2],"datatype":"FP32","data":[NaN,"\\"NaN"]}]}')
    # Scalars, empty tensors, deep nesting, several inputs, outputs and parameters.
    write(JSON_DIR, "scalar.json", '{"inputs":[{"name":"s","shape":[],"datatype":"INT32","data":7}]}')
    write(JSON_DIR, "empty.json", '{"inputs":[{"name":"e","shape":[0,3],"datatype":"FP32","data":[]}]}')
    deep = 1
    for _ in range(8):
        deep = [deep]
    write(JSON_DIR, "deep.json", json.dumps({"inputs": [{"name": "d", "shape": [1] * 8, "datatype": "INT64",
                                                          "data": deep}]}))
    multi = {"id": "m", "parameters": {"binary_data_output": True},
             "inputs": [{"name": "a", "shape": [1, 3], "datatype": "FP32", "data": [0.1, 0.2, 0.3]},
                        {"name": "b", "shape": [2], "datatype": "BYTES", "data": ["x", "yz"]},
                        {"name": "c", "shape": [1], "datatype": "BOOL", "data": [True], "parameters": {"k": 1}}],
             "outputs": [{"name": "p"}, {"name": "q", "parameters": {"binary_data": False}}]}
    write(JSON_DIR, "multi.json", json.dumps(multi))
    # Invalid requests the decoder must reject.
    for name, body in {
        "bad_negative_dim.json": '{"inputs":[{"name":"x","shape":[-1],"datatype":"FP32","data":[]}]}',
        "bad_count.json": '{"inputs":[{"name":"x","shape":[3],"datatype":"FP32","data":[1,2]}]}',
        "bad_dtype.json": '{"inputs":[{"name":"x","shape":[1],"datatype":"FP8","data":[1]}]}',
        "bad_range.json": '{"inputs":[{"name":"x","shape":[1],"datatype":"INT8","data":[128]}]}',
        "bad_huge_shape.json": '{"inputs":[{"name":"x","shape":[65536,65536],"datatype":"FP32","data":[]}]}',
        "bad_fp16_json.json": '{"inputs":[{"name":"x","shape":[1],"datatype":"FP16","data":[1]}]}',
        "bad_not_object.json": '[1,2,3]',
    }.items():
        write(JSON_DIR, name, body)
    # Binary: mixed JSON and binary inputs, BYTES lengths, outputs.
    header = {"inputs": [{"name": "a", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}},
                         {"name": "b", "shape": [1], "datatype": "FP64", "data": [2.5]},
                         {"name": "c", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 11}}],
              "outputs": [{"name": "y", "parameters": {"binary_data": True}}]}
    write(BIN_DIR, "mixed", binary_input(header, raw("INT32", [1, -1]) + raw("BYTES", ["abc", ""]) + b""))
    header = {"inputs": [{"name": "z", "shape": [0], "datatype": "FP32", "parameters": {"binary_data_size": 0}}]}
    write(BIN_DIR, "zero_size", binary_input(header, b""))
    header = {"inputs": [{"name": "c", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 8}}]}
    write(BIN_DIR, "bad_bytes_length_lies", binary_input(header, struct.pack("<I", 1000) + b"abcd"))
    header = {"inputs": [{"name": "a", "shape": [1], "datatype": "INT32", "parameters": {"binary_data_size": 4}}]}
    write(BIN_DIR, "bad_leftover", binary_input(header, raw("INT32", [1]) + b"xx"))
    write(BIN_DIR, "bad_length_past_end", b"\xff\xff{}")
    write(BIN_DIR, "plain_json_no_binary",
          binary_input({"inputs": [{"name": "x", "shape": [1], "datatype": "UINT8", "data": [9]}]}, b""))


if __name__ == "__main__":
    main()
