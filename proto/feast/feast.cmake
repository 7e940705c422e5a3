# kiln_feast_proto: kiln's own definitions of Feast's messages and gRPC
# services (same packages, names and field numbers as Feast's, so Feast's SDK
# talks to kiln unchanged). Every proto/feast/**/*.proto is compiled with
# protoc and grpc_cpp_plugin into the build tree; as with the other generated
# code, warnings are off and the headers are SYSTEM includes.
file(GLOB_RECURSE feast_protos CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/proto/feast/*.proto)
set(feast_gen ${CMAKE_BINARY_DIR}/feast_gen)
file(MAKE_DIRECTORY ${feast_gen})
set(feast_gen_srcs)
foreach(proto ${feast_protos})
  file(RELATIVE_PATH rel ${PROJECT_SOURCE_DIR}/proto ${proto})
  string(REGEX REPLACE "\\.proto$" "" stem ${rel})
  set(outputs ${feast_gen}/${stem}.pb.cc ${feast_gen}/${stem}.pb.h
              ${feast_gen}/${stem}.grpc.pb.cc ${feast_gen}/${stem}.grpc.pb.h)
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND protobuf::protoc -I${PROJECT_SOURCE_DIR}/proto --cpp_out=${feast_gen} --grpc_out=${feast_gen}
            --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN} ${proto}
    DEPENDS ${feast_protos} protobuf::protoc
    COMMENT "protoc ${rel}"
    VERBATIM)
  list(APPEND feast_gen_srcs ${outputs})
endforeach()
if(feast_gen_srcs)
  add_library(kiln_feast_proto STATIC ${feast_gen_srcs})
  target_compile_options(kiln_feast_proto PRIVATE -w)
  target_include_directories(kiln_feast_proto SYSTEM PUBLIC ${feast_gen})
  target_link_libraries(kiln_feast_proto PUBLIC protobuf::libprotobuf PkgConfig::GRPCPP)
else()
  add_library(kiln_feast_proto INTERFACE)
endif()
