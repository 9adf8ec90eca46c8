# The browser tests (tests/browser, docs/web.md "Browser tests"): node drives Debian's chromium
# through playwright-core against a real `restoreproof serve` of the demo estate, with axe-core
# on every page. scripts/deps.sh installs chromium, node and the npm packages. Label `browser`:
# `ctest -L browser` (or `-R browser`) runs it alone. Screenshots, the downloaded evidence
# bundle and serve's log are kept in the build directory's browser-artifacts/.
find_program(RP_NODE node)
if(RP_NODE)
  add_test(NAME browser_pages
           COMMAND ${RP_NODE} ${CMAKE_CURRENT_SOURCE_DIR}/browser/pages.test.mjs ${CMAKE_BINARY_DIR}/browser-artifacts)
else()
  add_test(NAME browser_pages
           COMMAND sh -c "echo 'browser_pages: node is missing: run scripts/deps.sh'; exit 1")
endif()
# Chromium, serve and the demo's restic backups keep both cores busy: under `ctest -j2` the
# test takes both slots, so it never shares this 2-core machine with another heavy suite.
set_tests_properties(browser_pages PROPERTIES
  LABELS browser
  PROCESSORS 2
  TIMEOUT 300
  ENVIRONMENT "RP_BINARY=$<TARGET_FILE:restoreproof>;RP_CHROMIUM=/usr/bin/chromium")
