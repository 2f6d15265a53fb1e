"""cc_syslink_library: C++ server classes and client stubs for the services of .proto files.

The counterpart of gRPC's cc_grpc_library, for syslink rpcs (docs/rpc.md):

    load("//rpc:defs.bzl", "cc_syslink_library")    # "@syslink//rpc:defs.bzl" elsewhere

    proto_library(name = "kv_proto", srcs = ["kv.proto"])
    cc_proto_library(name = "kv_cc_proto", deps = [":kv_proto"])
    cc_syslink_library(
        name = "kv_syslink",
        srcs = [":kv_proto"],
        deps = [":kv_cc_proto"],
    )

    #include "path/to/kv.syslink.h"    // beside kv.pb.h: kv::KeyValueStore, KeyValueStoreStub

For each .proto directly in `srcs`, protoc-gen-syslink (rpc/compiler/) writes foo.syslink.h
and foo.syslink.cc where cc_proto_library puts foo.pb.h; a cc_library compiles them against
`deps` and the runtime, //rpc:rpc.

The .proto files must be in the package of the cc_syslink_library (as with cc_grpc_library).
Works in this repository and from another workspace that has it as @syslink; proto_library's
import_prefix / strip_import_prefix are honoured (the headers go where their .pb.h goes).
"""

_PROTOC = Label("@com_google_protobuf//:protoc")
_PLUGIN = Label("//rpc/compiler:protoc-gen-syslink")

# What the generated code includes besides the .pb.h files.
_RUNTIME_DEPS = [
    Label("//rpc:rpc"),
    Label("//third_party:absl_status"),
    Label("//third_party:absl_strings"),
]

_VIRTUAL_IMPORTS = "/_virtual_imports/"

def _join(*parts):
    return "/".join([part for part in parts if part])

def _dot_for_empty(path):
    return path or "."

def _include_dir(proto):
    """The directory to give protoc with -I so that `proto` has its import path."""
    if not proto.is_source and _VIRTUAL_IMPORTS in proto.path:
        # proto_library with import_prefix / strip_import_prefix: .../_virtual_imports/<name>/...
        root, rest = proto.path.split(_VIRTUAL_IMPORTS, 1)
        return root + _VIRTUAL_IMPORTS + rest.split("/", 1)[0]

    # A source file is under its repository's root ("" here, external/<repo> as an external
    # repository); a generated file under the output root as well.
    return _join(proto.root.path, proto.owner.workspace_root) or "."

def _import_path(proto):
    """The path protoc and `import` statements know `proto` by, e.g. "rpc/kv/kv.proto"."""
    include_dir = _include_dir(proto)
    if include_dir == ".":
        return proto.path
    return proto.path[len(include_dir) + 1:]

def _output_root(ctx, proto):
    """The directory under which protoc writes the outputs of `proto` (its --syslink_out)."""
    include_dir = _include_dir(proto)
    if include_dir.startswith(ctx.bin_dir.path + "/"):
        return include_dir
    return _join(ctx.bin_dir.path, proto.owner.workspace_root)

def _cc_syslink_generate_impl(ctx):
    package_dir = _join(ctx.bin_dir.path, ctx.label.workspace_root, ctx.label.package)
    headers = []
    sources = []
    jobs = {}  # output root -> struct(import_paths, outputs)
    for src in ctx.attr.srcs:
        for proto in src[ProtoInfo].direct_sources:
            import_path = _import_path(proto)
            stem = import_path[:-len(".proto")]
            root = _output_root(ctx, proto)
            if not _join(root, stem).startswith(package_dir + "/"):
                fail(("{} of {} is not in package {}: a cc_syslink_library must be in the " +
                      "package of the .proto files it compiles").format(
                    import_path,
                    src.label,
                    "//" + ctx.label.package,
                ))
            relative = _join(root, stem)[len(package_dir) + 1:]
            header = ctx.actions.declare_file(relative + ".syslink.h")
            source = ctx.actions.declare_file(relative + ".syslink.cc")
            headers.append(header)
            sources.append(source)
            job = jobs.setdefault(root, struct(import_paths = [], outputs = []))
            job.import_paths.append(import_path)
            job.outputs.extend([header, source])

    # Where protoc finds the files to compile first, then everything they import.
    include_dirs = depset(
        [_include_dir(proto) for src in ctx.attr.srcs for proto in src[ProtoInfo].direct_sources],
        transitive = [src[ProtoInfo].transitive_proto_path for src in ctx.attr.srcs],
        order = "preorder",
    )
    inputs = depset(transitive = [src[ProtoInfo].transitive_sources for src in ctx.attr.srcs])
    plugin = ctx.attr._plugin[DefaultInfo].files_to_run
    for root, job in jobs.items():
        args = ctx.actions.args()
        args.add(plugin.executable, format = "--plugin=protoc-gen-syslink=%s")
        args.add(root, format = "--syslink_out=%s")
        args.add_all(include_dirs, format_each = "-I%s", map_each = _dot_for_empty)
        args.add_all(job.import_paths)
        ctx.actions.run(
            executable = ctx.attr._protoc[DefaultInfo].files_to_run,
            arguments = [args],
            inputs = inputs,
            tools = [plugin],
            outputs = job.outputs,
            mnemonic = "SyslinkGenerate",
            progress_message = "Generating syslink stubs for %s" % ctx.label,
        )

    # The headers of a proto_library with import_prefix / strip_import_prefix sit in its
    # _virtual_imports directory, which must be on the include path (the default output root
    # already is).
    default_root = _join(ctx.bin_dir.path, ctx.label.workspace_root)
    virtual_roots = [root for root in jobs.keys() if root != default_root]
    return [
        DefaultInfo(files = depset(headers + sources)),
        OutputGroupInfo(headers = depset(headers), sources = depset(sources)),
        CcInfo(compilation_context = cc_common.create_compilation_context(
            includes = depset(virtual_roots),
        )),
    ]

_cc_syslink_generate = rule(
    implementation = _cc_syslink_generate_impl,
    doc = "Runs protoc-gen-syslink on the .proto files of `srcs`; gives the include path of " +
          "the generated headers as a CcInfo.",
    attrs = {
        "srcs": attr.label_list(
            mandatory = True,
            allow_empty = False,
            providers = [ProtoInfo],
            doc = "proto_library targets whose direct .proto files are compiled.",
        ),
        "_protoc": attr.label(default = _PROTOC, executable = True, cfg = "exec"),
        "_plugin": attr.label(default = _PLUGIN, executable = True, cfg = "exec"),
    },
)

def cc_syslink_library(name, srcs, deps = [], visibility = None, testonly = None, tags = None,
                       **kwargs):
    """A cc_library of the syslink service classes and stubs generated from `srcs`.

    Args:
      name: the cc_library. `<name>_generated` names the generated files.
      srcs: proto_library targets in this package; each of their .proto files yields
        foo.syslink.h and foo.syslink.cc.
      deps: the cc_proto_library of `srcs` (the generated code includes foo.pb.h), and
        anything else the library needs.
      visibility: of the cc_library.
      testonly: of every target made.
      tags: of every target made.
      **kwargs: more attributes of the cc_library (copts, defines, ...).
    """
    if not deps:
        fail(("cc_syslink_library {} has no deps: the code generated from {} includes their " +
              ".pb.h files, so deps must name the cc_proto_library of those protos, e.g. " +
              "deps = [\":foo_cc_proto\"] beside cc_proto_library(name = \"foo_cc_proto\", " +
              "deps = [{}])").format(name, srcs, ", ".join(['"%s"' % s for s in srcs])))
    generated = name + "_generated"
    _cc_syslink_generate(
        name = generated,
        srcs = srcs,
        testonly = testonly,
        tags = tags,
        visibility = ["//visibility:private"],
    )
    for group in ["headers", "sources"]:
        native.filegroup(
            name = "%s_%s" % (generated, group),
            srcs = [":" + generated],
            output_group = group,
            testonly = testonly,
            tags = tags,
            visibility = ["//visibility:private"],
        )
    native.cc_library(
        name = name,
        srcs = [":%s_sources" % generated],
        hdrs = [":%s_headers" % generated],
        deps = deps + [":" + generated] + _RUNTIME_DEPS,
        visibility = visibility,
        testonly = testonly,
        tags = tags,
        **kwargs
    )
