# Writes OUT, a C++ source defining `std::string_view <SYMBOL>()` that returns
# the text of IN (run by the build, so editing IN rebuilds the server).
file(READ "${IN}" content)
string(FIND "${content}" ")kiln_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )kiln_embed\"")
endif()
file(WRITE "${OUT}"
  "// Generated from ${IN} by embed_text.cmake; do not edit.\n"
  "#include <string_view>\n"
  "namespace ${NAMESPACE} {\n"
  "std::string_view ${SYMBOL}() {\n"
  "  static constexpr std::string_view kText = R\"kiln_embed(${content})kiln_embed\";\n"
  "  return kText;\n"
  "}\n"
  "}  // namespace ${NAMESPACE}\n")
