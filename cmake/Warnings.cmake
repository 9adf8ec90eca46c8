# Warnings and sanitizers as INTERFACE targets, linked PRIVATE by our own targets only,
# so third-party headers are never compiled under our -Werror.
add_library(rp_warnings INTERFACE)
target_compile_options(rp_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor -Werror)
# GCC 12 at -O3 reports a false -Wrestrict inside libstdc++'s string concatenation
# (GCC bug 105329); keep it a warning so Release builds work.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(rp_warnings INTERFACE -Wno-error=restrict)
endif()

add_library(rp_sanitizers INTERFACE)
if(RP_SANITIZE)
  string(REPLACE "," ";" _rp_sans "${RP_SANITIZE}")
  foreach(s IN LISTS _rp_sans)
    target_compile_options(rp_sanitizers INTERFACE -fsanitize=${s} -fno-omit-frame-pointer)
    target_link_options(rp_sanitizers INTERFACE -fsanitize=${s})
  endforeach()
endif()

# Everything a target of ours links privately.
add_library(rp_project_options INTERFACE)
target_link_libraries(rp_project_options INTERFACE rp_warnings rp_sanitizers)
