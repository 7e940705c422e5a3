"""Regenerates proto/feast/**/*.proto from the descriptors compiled into the
installed feast package (.venv/bin/python proto/feast/regenerate.py proto):
packages, names, numbers, types, labels, oneofs and maps exactly as Feast 0.67
defines them, no Feast comments. File-level options (java/go packages) and
method http annotations are left out: they do not affect the wire."""
import importlib, os, sys
from google.protobuf import descriptor_pb2 as dp

F = dp.FieldDescriptorProto
SCALAR = {F.TYPE_DOUBLE: "double", F.TYPE_FLOAT: "float", F.TYPE_INT64: "int64",
          F.TYPE_UINT64: "uint64", F.TYPE_INT32: "int32", F.TYPE_FIXED64: "fixed64",
          F.TYPE_FIXED32: "fixed32", F.TYPE_BOOL: "bool", F.TYPE_STRING: "string",
          F.TYPE_BYTES: "bytes", F.TYPE_UINT32: "uint32", F.TYPE_SFIXED32: "sfixed32",
          F.TYPE_SFIXED64: "sfixed64", F.TYPE_SINT32: "sint32", F.TYPE_SINT64: "sint64"}

def tname(f):
    if f.type in SCALAR:
        return SCALAR[f.type]
    return f.type_name  # fully qualified with leading dot: unambiguous

def field_opts(f):
    o = []
    if f.options.HasField("deprecated"):
        o.append("deprecated = %s" % ("true" if f.options.deprecated else "false"))
    if f.options.HasField("packed"):
        o.append("packed = %s" % ("true" if f.options.packed else "false"))
    return (" [" + ", ".join(o) + "]") if o else ""

def emit_enum(e, ind, out):
    out.append("%senum %s {" % (ind, e.name))
    if e.options.HasField("allow_alias") and e.options.allow_alias:
        out.append("%s  option allow_alias = true;" % ind)
    for v in e.value:
        out.append("%s  %s = %d;" % (ind, v.name, v.number))
    for r in e.reserved_range:
        out.append("%s  reserved %s;" % (ind, rng(r.start, r.end, inclusive=True)))
    for n in e.reserved_name:
        out.append('%s  reserved "%s";' % (ind, n))
    out.append("%s}" % ind)

def rng(s, e, inclusive=False):
    end = e if inclusive else e - 1
    if end >= 536870911:
        return "%d to max" % s
    return str(s) if s == end else "%d to %d" % (s, end)

def emit_field(f, ind, out, maps):
    if f.type == F.TYPE_MESSAGE and f.type_name in maps:
        k, v = maps[f.type_name]
        out.append("%smap<%s, %s> %s = %d%s;" % (ind, tname(k), tname(v), f.name, f.number, field_opts(f)))
        return
    lab = ""
    if f.label == F.LABEL_REPEATED:
        lab = "repeated "
    elif f.proto3_optional:
        lab = "optional "
    out.append("%s%s%s %s = %d%s;" % (ind, lab, tname(f), f.name, f.number, field_opts(f)))

def emit_msg(m, ind, out, prefix):
    full = prefix + "." + m.name
    out.append("%smessage %s {" % (ind, m.name))
    if m.options.HasField("deprecated") and m.options.deprecated:
        out.append("%s  option deprecated = true;" % ind)
    maps = {}
    for n in m.nested_type:
        if n.options.map_entry:
            maps[full + "." + n.name] = (n.field[0], n.field[1])
    for e in m.enum_type:
        emit_enum(e, ind + "  ", out)
    for n in m.nested_type:
        if not n.options.map_entry:
            emit_msg(n, ind + "  ", out, full)
    real_oneofs = {}
    for f in m.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            real_oneofs.setdefault(f.oneof_index, [])
    done = set()
    for f in m.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            oi = f.oneof_index
            if oi in done:
                continue
            done.add(oi)
            out.append("%s  oneof %s {" % (ind, m.oneof_decl[oi].name))
            for g in m.field:
                if g.HasField("oneof_index") and g.oneof_index == oi and not g.proto3_optional:
                    emit_field(g, ind + "    ", out, maps)
            out.append("%s  }" % ind)
        else:
            emit_field(f, ind + "  ", out, maps)
    for r in m.reserved_range:
        out.append("%s  reserved %s;" % (ind, rng(r.start, r.end)))
    for n in m.reserved_name:
        out.append('%s  reserved "%s";' % (ind, n))
    out.append("%s}" % ind)

def emit_file(fd):
    out = ['syntax = "%s";' % (fd.syntax or "proto2"), "", "package %s;" % fd.package, ""]
    for d in fd.dependency:
        out.append('import "%s";' % d)
    if fd.dependency:
        out.append("")
    for e in fd.enum_type:
        emit_enum(e, "", out); out.append("")
    for m in fd.message_type:
        emit_msg(m, "", out, "." + fd.package); out.append("")
    for s in fd.service:
        out.append("service %s {" % s.name)
        for meth in s.method:
            out.append("  rpc %s(%s%s) returns (%s%s);" % (
                meth.name, "stream " if meth.client_streaming else "", meth.input_type,
                "stream " if meth.server_streaming else "", meth.output_type))
        out.append("}"); out.append("")
    assert not fd.extension, fd.name
    return "\n".join(out).rstrip() + "\n"

def main(dest):
    import feast.protos.feast.registry.RegistryServer_pb2 as r
    import feast.protos.feast.serving.ServingService_pb2 as s
    import feast.protos.feast.types.EntityKey_pb2 as ek
    import feast.protos.feast.types.Field_pb2 as fl
    seen = {}
    def walk(d):
        if d.name in seen or d.name.startswith("google/"):
            return
        seen[d.name] = d
        for x in d.dependencies:
            walk(x)
    for mod in (r, s, ek, fl):
        walk(mod.DESCRIPTOR)
    for name, d in sorted(seen.items()):
        p = dp.FileDescriptorProto()
        d.CopyToProto(p)
        path = os.path.join(dest, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(emit_file(p))
        print(path)

main(sys.argv[1])
