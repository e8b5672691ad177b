# Warnings apply to our own targets only (never to Debian's headers, which are SYSTEM includes).
option(SECCOMP_GATE_WERROR "Treat warnings as errors" OFF)

function(seccomp_gate_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
    -Wold-style-cast -Woverloaded-virtual -Wimplicit-fallthrough)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 at -O3 reports impossible overlaps in std::string concatenation (GCC bug 105329).
    target_compile_options(${target} PRIVATE -Wno-restrict)
  endif()
  if(SECCOMP_GATE_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
