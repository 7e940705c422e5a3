# kiln_otlp_proto: the OTLP trace messages (proto/otlp/trace.proto) that the
# MLflow tracing routes decode at /v1/traces. Included from src/api; like the
# gRPC inference messages, the generated code builds with warnings off and its
# headers are SYSTEM includes.
set(otlp_proto ${PROJECT_SOURCE_DIR}/proto/otlp/trace.proto)
set(otlp_gen ${CMAKE_CURRENT_BINARY_DIR}/otlp_gen)
file(MAKE_DIRECTORY ${otlp_gen})
add_custom_command(
  OUTPUT ${otlp_gen}/otlp/trace.pb.cc ${otlp_gen}/otlp/trace.pb.h
  COMMAND protobuf::protoc -I${PROJECT_SOURCE_DIR}/proto --cpp_out=${otlp_gen} ${otlp_proto}
  DEPENDS ${otlp_proto} protobuf::protoc
  COMMENT "protoc otlp/trace.proto"
  VERBATIM)
add_library(kiln_otlp_proto STATIC ${otlp_gen}/otlp/trace.pb.cc)
target_compile_options(kiln_otlp_proto PRIVATE -w)
target_include_directories(kiln_otlp_proto SYSTEM PUBLIC ${otlp_gen})
target_link_libraries(kiln_otlp_proto PUBLIC protobuf::libprotobuf)
