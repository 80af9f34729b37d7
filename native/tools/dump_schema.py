"""Print the onnx.proto message tree reachable from ModelProto (field numbers, types, labels)."""

import onnx

seen, order = set(), []


def visit(d):
    if d.full_name in seen:
        return
    seen.add(d.full_name)
    order.append(d)
    for f in d.fields:
        if f.message_type is not None:
            visit(f.message_type)


visit(onnx.ModelProto.DESCRIPTOR)
for d in order:
    print(d.full_name)
    for f in sorted(d.fields, key=lambda f: f.number):
        extra = ""
        if f.message_type is not None:
            extra = f.message_type.full_name
        if f.enum_type is not None:
            extra = f"enum closed={f.enum_type.is_closed} values={sorted(v.number for v in f.enum_type.values)}"
        oneof = f.containing_oneof.name if f.containing_oneof else ""
        rep = f.is_repeated
        print(f"  {f.number:3d} {f.name:28s} type={f.type:2d} rep={int(rep)} oneof={oneof} {extra}")
