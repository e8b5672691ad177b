# One option picks the sanitizers for every target: -DSECCOMP_GATE_SANITIZE=address,undefined
set(SECCOMP_GATE_SANITIZE "" CACHE STRING "Comma-separated -fsanitize= list (empty: none)")
if(SECCOMP_GATE_SANITIZE)
  add_compile_options(-fsanitize=${SECCOMP_GATE_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${SECCOMP_GATE_SANITIZE})
endif()

# libFuzzer builds instrument every target for coverage; only the fuzz targets link the driver.
if(SECCOMP_GATE_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
