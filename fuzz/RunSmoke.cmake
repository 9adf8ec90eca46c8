# Runs one libFuzzer target briefly over a fresh copy of its seeds; used by the CTest smoke
# tests (cmake/FuzzSubbuild.cmake). Fails on any crash, leak, timeout, out-of-memory or
# sanitizer report, printing the end of the log and how to reproduce.
#
#   cmake -DFUZZER=<exe> -DWORK_DIR=<dir in the build tree> -DSEED_DIRS="<dir>|<dir>"
#         [-DEXCLUDE_INDEX=<tsv>] -DMAX_TIME=<s> [-DTIMEOUT=<s>] [-DRSS_LIMIT_MB=<MiB>]
#         -P RunSmoke.cmake
#
# EXCLUDE_INDEX is a tab-separated file whose first column names a seed file and whose third
# column is `hangs_or_prompts` for the seeds to leave out. Seeds are copied, never used in
# place: libFuzzer writes new inputs into its corpus directory.
cmake_minimum_required(VERSION 3.25)

foreach(var IN ITEMS FUZZER WORK_DIR SEED_DIRS MAX_TIME)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "RunSmoke.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED TIMEOUT)
  set(TIMEOUT 10)
endif()
if(NOT DEFINED RSS_LIMIT_MB)
  set(RSS_LIMIT_MB 1024)
endif()
if(NOT EXISTS "${FUZZER}")
  message(FATAL_ERROR "fuzzer ${FUZZER} does not exist: build the project first (ninja -C <build dir>)")
endif()

set(corpus "${WORK_DIR}/corpus")
set(artifacts "${WORK_DIR}/artifacts")
set(tmp "${WORK_DIR}/tmp")
set(log "${WORK_DIR}/fuzz.log")
file(REMOVE_RECURSE "${corpus}" "${artifacts}" "${tmp}" "${log}")
file(MAKE_DIRECTORY "${corpus}" "${artifacts}" "${tmp}")

set(excluded "")
if(DEFINED EXCLUDE_INDEX AND EXISTS "${EXCLUDE_INDEX}")
  file(STRINGS "${EXCLUDE_INDEX}" rows)
  foreach(row IN LISTS rows)
    string(REPLACE "\t" ";" cols "${row}")
    list(LENGTH cols n)
    if(n GREATER_EQUAL 3)
      list(GET cols 2 verdict)
      if(verdict STREQUAL "hangs_or_prompts")
        list(GET cols 0 seed_name)
        list(APPEND excluded "${seed_name}")
      endif()
    endif()
  endforeach()
endif()

string(REPLACE "|" ";" seed_dirs "${SEED_DIRS}")
set(copied 0)
foreach(dir IN LISTS seed_dirs)
  if(NOT IS_DIRECTORY "${dir}")
    message(STATUS "seed directory ${dir} not found; running without it")
    continue()
  endif()
  file(GLOB seeds LIST_DIRECTORIES false "${dir}/*")
  foreach(seed IN LISTS seeds)
    get_filename_component(seed_name "${seed}" NAME)
    if(seed_name IN_LIST excluded)
      continue()
    endif()
    file(COPY "${seed}" DESTINATION "${corpus}")
    math(EXPR copied "${copied} + 1")
  endforeach()
endforeach()
list(LENGTH excluded n_excluded)
message(STATUS "${copied} seeds copied to ${corpus} (${n_excluded} listed as hangs_or_prompts left out)")

set(args -max_total_time=${MAX_TIME} -timeout=${TIMEOUT} -rss_limit_mb=${RSS_LIMIT_MB}
         -print_final_stats=1 -artifact_prefix=${artifacts}/ "${corpus}")
string(JOIN " " shown ${args})
message(STATUS "TMPDIR=${tmp} ${FUZZER} ${shown}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env "TMPDIR=${tmp}" "${FUZZER}" ${args}
  OUTPUT_FILE "${log}" ERROR_FILE "${log}"
  RESULT_VARIABLE rc)

if(rc EQUAL 0)
  file(STRINGS "${log}" summary REGEX "^(#[0-9]+[ \t]+DONE|Done [0-9]+ runs|stat::)")
  foreach(line IN LISTS summary)
    message(STATUS "${line}")
  endforeach()
  return()
endif()

execute_process(COMMAND tail -n 150 "${log}" OUTPUT_VARIABLE tail_text)
message("---- last lines of ${log}:\n${tail_text}----")
file(GLOB found LIST_DIRECTORIES false "${artifacts}/*")
set(repro "")
foreach(a IN LISTS found)
  string(APPEND repro "\n  reproduce: ${FUZZER} ${a}")
endforeach()
message(FATAL_ERROR "${FUZZER} exited with ${rc} (log above and in ${log}); "
                    "failing inputs in ${artifacts}:${repro}\n"
                    "Keep a real engine bug as a regression input under fuzz/regressions/.")
