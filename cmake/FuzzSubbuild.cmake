# Fuzz smoke tests (fuzz/README.md). Included by the top-level CMakeLists.txt after
# enable_testing(). The fuzzers need clang and libFuzzer; when this build uses another
# compiler, this same source tree is configured again into ${CMAKE_BINARY_DIR}/fuzz-clang with
# clang, -DRP_FUZZ=ON and -DRP_FUZZ_ONLY=ON, built on every build, and CTest runs each fuzzer
# briefly: fuzz_manifest_smoke, fuzz_verify_smoke, fuzz_config_smoke, fuzz_rar5_smoke, fuzz_schedule_smoke,
# fuzz_sevenzip_names_smoke, fuzz_index_smoke, fuzz_smtp_smoke, fuzz_evidence_smoke,
# fuzz_web_parse_smoke, fuzz_store_url_smoke, fuzz_sample_smoke and fuzz_listing_smoke. Without clang or libFuzzer the tests are skipped with a message saying why.
option(RP_FUZZ_SMOKE "Build the libFuzzer targets with clang and run them briefly under CTest" ON)
set(RP_FUZZ_MANIFEST_SECONDS 20 CACHE STRING "How long fuzz_manifest_smoke fuzzes, in seconds")
set(RP_FUZZ_VERIFY_SECONDS 40 CACHE STRING "How long fuzz_verify_smoke fuzzes, in seconds")
set(RP_FUZZ_CONFIG_SECONDS 15 CACHE STRING "How long fuzz_config_smoke fuzzes, in seconds")
set(RP_FUZZ_RAR5_SECONDS 10 CACHE STRING "How long fuzz_rar5_smoke fuzzes, in seconds")
set(RP_FUZZ_SCHEDULE_SECONDS 10 CACHE STRING "How long fuzz_schedule_smoke fuzzes, in seconds")
set(RP_FUZZ_SEVENZIP_NAMES_SECONDS 10 CACHE STRING "How long fuzz_sevenzip_names_smoke fuzzes, in seconds")
set(RP_FUZZ_INDEX_SECONDS 10 CACHE STRING "How long fuzz_index_smoke fuzzes, in seconds")
set(RP_FUZZ_SMTP_SECONDS 5 CACHE STRING "How long fuzz_smtp_smoke fuzzes, in seconds")
set(RP_FUZZ_EVIDENCE_SECONDS 10 CACHE STRING "How long fuzz_evidence_smoke fuzzes, in seconds")
set(RP_FUZZ_WEB_PARSE_SECONDS 5 CACHE STRING "How long fuzz_web_parse_smoke fuzzes, in seconds")
set(RP_FUZZ_STORE_URL_SECONDS 5 CACHE STRING "How long fuzz_store_url_smoke fuzzes, in seconds")
set(RP_FUZZ_SAMPLE_SECONDS 5 CACHE STRING "How long fuzz_sample_smoke fuzzes, in seconds")
set(RP_FUZZ_LISTING_SECONDS 5 CACHE STRING "How long fuzz_listing_smoke fuzzes, in seconds")

# Adds the smoke tests for fuzzers at the given paths.
function(rp_add_fuzz_smoke_tests manifest_exe verify_exe config_exe rar5_exe schedule_exe sevenzip_names_exe
         index_exe smtp_exe evidence_exe web_parse_exe store_url_exe sample_exe listing_exe)
  add_test(NAME fuzz_listing_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${listing_exe}"
      "-DWORK_DIR=${work}/listing"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/listing"
      "-DMAX_TIME=${RP_FUZZ_LISTING_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  math(EXPR listing_limit "${RP_FUZZ_LISTING_SECONDS} + 120")
  set_tests_properties(fuzz_listing_smoke PROPERTIES TIMEOUT ${listing_limit} LABELS fuzz)
  set(work "${CMAKE_BINARY_DIR}/fuzz-work")
  add_test(NAME fuzz_sample_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${sample_exe}"
      "-DWORK_DIR=${work}/sample"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/sample"
      "-DMAX_TIME=${RP_FUZZ_SAMPLE_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  math(EXPR sample_limit "${RP_FUZZ_SAMPLE_SECONDS} + 120")
  set_tests_properties(fuzz_sample_smoke PROPERTIES TIMEOUT ${sample_limit} LABELS fuzz)
  set(shared_corpus "${PROJECT_SOURCE_DIR}/../shared/corpus")
  add_test(NAME fuzz_manifest_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${manifest_exe}"
      "-DWORK_DIR=${work}/manifest"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/manifest|${PROJECT_SOURCE_DIR}/fuzz/regressions/manifest"
      "-DMAX_TIME=${RP_FUZZ_MANIFEST_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  add_test(NAME fuzz_verify_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${verify_exe}"
      "-DWORK_DIR=${work}/verify"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/verify|${shared_corpus}/libarchive|${PROJECT_SOURCE_DIR}/fuzz/regressions/verify"
      "-DEXCLUDE_INDEX=${shared_corpus}/libarchive-index.tsv"
      "-DMAX_TIME=${RP_FUZZ_VERIFY_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  add_test(NAME fuzz_config_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${config_exe}"
      "-DWORK_DIR=${work}/config"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/config|${PROJECT_SOURCE_DIR}/config"
      "-DMAX_TIME=${RP_FUZZ_CONFIG_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  add_test(NAME fuzz_rar5_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${rar5_exe}"
      "-DWORK_DIR=${work}/rar5"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/rar5|${shared_corpus}/libarchive"
      "-DMAX_TIME=${RP_FUZZ_RAR5_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  add_test(NAME fuzz_schedule_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${schedule_exe}"
      "-DWORK_DIR=${work}/schedule"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/schedule|${PROJECT_SOURCE_DIR}/fuzz/regressions/schedule"
      "-DMAX_TIME=${RP_FUZZ_SCHEDULE_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  add_test(NAME fuzz_sevenzip_names_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${sevenzip_names_exe}"
      "-DWORK_DIR=${work}/sevenzip_names"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/sevenzip_names|${shared_corpus}/libarchive"
      "-DMAX_TIME=${RP_FUZZ_SEVENZIP_NAMES_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  add_test(NAME fuzz_index_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${index_exe}"
      "-DWORK_DIR=${work}/index"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/index|${shared_corpus}/libarchive"
      "-DMAX_TIME=${RP_FUZZ_INDEX_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  add_test(NAME fuzz_smtp_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${smtp_exe}"
      "-DWORK_DIR=${work}/smtp"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/smtp|${PROJECT_SOURCE_DIR}/fuzz/regressions/smtp"
      "-DMAX_TIME=${RP_FUZZ_SMTP_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  add_test(NAME fuzz_evidence_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${evidence_exe}"
      "-DWORK_DIR=${work}/evidence"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/evidence|${PROJECT_SOURCE_DIR}/fuzz/regressions/evidence"
      "-DMAX_TIME=${RP_FUZZ_EVIDENCE_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  add_test(NAME fuzz_web_parse_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${web_parse_exe}"
      "-DWORK_DIR=${work}/web_parse"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/web_parse|${PROJECT_SOURCE_DIR}/fuzz/regressions/web_parse"
      "-DMAX_TIME=${RP_FUZZ_WEB_PARSE_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  add_test(NAME fuzz_store_url_smoke
    COMMAND "${CMAKE_COMMAND}"
      "-DFUZZER=${store_url_exe}"
      "-DWORK_DIR=${work}/store_url"
      "-DSEED_DIRS=${PROJECT_SOURCE_DIR}/fuzz/seeds/store_url|${PROJECT_SOURCE_DIR}/fuzz/regressions/store_url"
      "-DMAX_TIME=${RP_FUZZ_STORE_URL_SECONDS}"
      -P "${PROJECT_SOURCE_DIR}/fuzz/RunSmoke.cmake")
  math(EXPR store_url_limit "${RP_FUZZ_STORE_URL_SECONDS} + 120")
  set_tests_properties(fuzz_store_url_smoke PROPERTIES TIMEOUT ${store_url_limit} LABELS fuzz)
  math(EXPR web_parse_limit "${RP_FUZZ_WEB_PARSE_SECONDS} + 120")
  set_tests_properties(fuzz_web_parse_smoke PROPERTIES TIMEOUT ${web_parse_limit} LABELS fuzz)
  math(EXPR evidence_limit "${RP_FUZZ_EVIDENCE_SECONDS} + 120")
  set_tests_properties(fuzz_evidence_smoke PROPERTIES TIMEOUT ${evidence_limit} LABELS fuzz)
  math(EXPR smtp_limit "${RP_FUZZ_SMTP_SECONDS} + 120")
  set_tests_properties(fuzz_smtp_smoke PROPERTIES TIMEOUT ${smtp_limit} LABELS fuzz)
  math(EXPR index_limit "${RP_FUZZ_INDEX_SECONDS} + 120")
  set_tests_properties(fuzz_index_smoke PROPERTIES TIMEOUT ${index_limit} LABELS fuzz)
  math(EXPR sevenzip_names_limit "${RP_FUZZ_SEVENZIP_NAMES_SECONDS} + 120")
  set_tests_properties(fuzz_sevenzip_names_smoke PROPERTIES TIMEOUT ${sevenzip_names_limit} LABELS fuzz)
  math(EXPR schedule_limit "${RP_FUZZ_SCHEDULE_SECONDS} + 120")
  set_tests_properties(fuzz_schedule_smoke PROPERTIES TIMEOUT ${schedule_limit} LABELS fuzz)
  math(EXPR rar5_limit "${RP_FUZZ_RAR5_SECONDS} + 120")
  set_tests_properties(fuzz_rar5_smoke PROPERTIES TIMEOUT ${rar5_limit} LABELS fuzz)
  math(EXPR config_limit "${RP_FUZZ_CONFIG_SECONDS} + 120")
  set_tests_properties(fuzz_config_smoke PROPERTIES TIMEOUT ${config_limit} LABELS fuzz)
  # Time for the seeds, the last input (-timeout=10) and start-up, beyond the fuzzing time.
  math(EXPR manifest_limit "${RP_FUZZ_MANIFEST_SECONDS} + 120")
  math(EXPR verify_limit "${RP_FUZZ_VERIFY_SECONDS} + 180")
  set_tests_properties(fuzz_manifest_smoke PROPERTIES TIMEOUT ${manifest_limit} LABELS fuzz)
  set_tests_properties(fuzz_verify_smoke PROPERTIES TIMEOUT ${verify_limit} LABELS fuzz)
endfunction()

if(NOT RP_FUZZ_SMOKE)
  message(STATUS "Fuzz smoke tests: off (RP_FUZZ_SMOKE=OFF)")
  return()
endif()

if(RP_FUZZ)
  # This build is the clang fuzz build itself: test its own fuzzers (fuzz/CMakeLists.txt).
  rp_add_fuzz_smoke_tests("$<TARGET_FILE:fuzz_manifest>" "$<TARGET_FILE:fuzz_verify>" "$<TARGET_FILE:fuzz_config>"
                          "$<TARGET_FILE:fuzz_rar5>" "$<TARGET_FILE:fuzz_schedule>" "$<TARGET_FILE:fuzz_sevenzip_names>"
                          "$<TARGET_FILE:fuzz_index>" "$<TARGET_FILE:fuzz_smtp>" "$<TARGET_FILE:fuzz_evidence>"
                          "$<TARGET_FILE:fuzz_web_parse>" "$<TARGET_FILE:fuzz_store_url>" "$<TARGET_FILE:fuzz_sample>"
                          "$<TARGET_FILE:fuzz_listing>")
  return()
endif()

find_program(RP_FUZZ_CLANGXX NAMES clang++ clang++-14 DOC "clang++ for the fuzz sub-build")
find_program(RP_FUZZ_CLANG NAMES clang clang-14 DOC "clang for the fuzz sub-build")
if(NOT RP_FUZZ_CLANGXX OR NOT RP_FUZZ_CLANG)
  message(STATUS "Fuzz smoke tests: skipped, clang/clang++ not found (Debian: apt-get install clang)")
  return()
endif()

# libFuzzer ships apart from the compiler (Debian: libclang-rt-14-dev). Link a tiny fuzzer to
# find out; a success is remembered for this compiler, a failure is checked again next time.
if(NOT RP_FUZZ_PROBED_COMPILER STREQUAL RP_FUZZ_CLANGXX)
  set(probe_dir "${CMAKE_BINARY_DIR}/fuzz-probe")
  file(WRITE "${probe_dir}/probe.cpp"
    "#include <cstddef>\n#include <cstdint>\n"
    "extern \"C\" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n")
  execute_process(
    COMMAND "${RP_FUZZ_CLANGXX}" -fsanitize=fuzzer,address,undefined "${probe_dir}/probe.cpp"
            -o "${probe_dir}/probe"
    RESULT_VARIABLE probe_rc OUTPUT_VARIABLE probe_out ERROR_VARIABLE probe_out)
  if(NOT probe_rc EQUAL 0)
    string(STRIP "${probe_out}" probe_out)
    message(STATUS "Fuzz smoke tests: skipped, ${RP_FUZZ_CLANGXX} cannot link a libFuzzer target "
                   "with address and undefined sanitizers (Debian: apt-get install libclang-rt-14-dev): "
                   "${probe_out}")
    return()
  endif()
  set(RP_FUZZ_PROBED_COMPILER "${RP_FUZZ_CLANGXX}" CACHE INTERNAL "clang++ known to link libFuzzer targets")
endif()

set(sub_args
  -DCMAKE_CXX_COMPILER=${RP_FUZZ_CLANGXX}
  -DCMAKE_C_COMPILER=${RP_FUZZ_CLANG}
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
  -DRP_FUZZ=ON
  -DRP_FUZZ_ONLY=ON)
if(CCACHE_PROGRAM)
  list(APPEND sub_args -DCMAKE_CXX_COMPILER_LAUNCHER=${CCACHE_PROGRAM} -DCMAKE_C_COMPILER_LAUNCHER=${CCACHE_PROGRAM})
endif()
find_program(RP_NINJA NAMES ninja ninja-build)
if(RP_NINJA)
  set(sub_generator Ninja)
  list(APPEND sub_args -DCMAKE_MAKE_PROGRAM=${RP_NINJA})
else()
  set(sub_generator "${CMAKE_GENERATOR}")
endif()

set(sub_dir "${CMAKE_BINARY_DIR}/fuzz-clang")
include(ExternalProject)
ExternalProject_Add(rp_fuzz_clang
  SOURCE_DIR "${PROJECT_SOURCE_DIR}"
  PREFIX "${CMAKE_BINARY_DIR}/fuzz-clang-ep"
  BINARY_DIR "${sub_dir}"
  CMAKE_GENERATOR "${sub_generator}"
  CMAKE_ARGS ${sub_args}
  BUILD_COMMAND "${CMAKE_COMMAND}" --build "${sub_dir}" --target fuzz_manifest fuzz_verify fuzz_config fuzz_rar5
                fuzz_schedule fuzz_sevenzip_names fuzz_index fuzz_smtp fuzz_evidence fuzz_web_parse fuzz_store_url
                fuzz_sample fuzz_listing
  BUILD_ALWAYS ON
  BUILD_BYPRODUCTS "${sub_dir}/fuzz/fuzz_manifest" "${sub_dir}/fuzz/fuzz_verify" "${sub_dir}/fuzz/fuzz_config"
                   "${sub_dir}/fuzz/fuzz_rar5" "${sub_dir}/fuzz/fuzz_schedule" "${sub_dir}/fuzz/fuzz_sevenzip_names"
                   "${sub_dir}/fuzz/fuzz_index" "${sub_dir}/fuzz/fuzz_smtp" "${sub_dir}/fuzz/fuzz_evidence"
                   "${sub_dir}/fuzz/fuzz_web_parse" "${sub_dir}/fuzz/fuzz_store_url" "${sub_dir}/fuzz/fuzz_sample"
                   "${sub_dir}/fuzz/fuzz_listing"
  INSTALL_COMMAND ""
  TEST_COMMAND "")

rp_add_fuzz_smoke_tests("${sub_dir}/fuzz/fuzz_manifest" "${sub_dir}/fuzz/fuzz_verify" "${sub_dir}/fuzz/fuzz_config"
                        "${sub_dir}/fuzz/fuzz_rar5" "${sub_dir}/fuzz/fuzz_schedule" "${sub_dir}/fuzz/fuzz_sevenzip_names"
                        "${sub_dir}/fuzz/fuzz_index" "${sub_dir}/fuzz/fuzz_smtp" "${sub_dir}/fuzz/fuzz_evidence"
                        "${sub_dir}/fuzz/fuzz_web_parse" "${sub_dir}/fuzz/fuzz_store_url" "${sub_dir}/fuzz/fuzz_sample"
                        "${sub_dir}/fuzz/fuzz_listing")
message(STATUS "Fuzz smoke tests: on, fuzzers built with ${RP_FUZZ_CLANGXX} in ${sub_dir}")
