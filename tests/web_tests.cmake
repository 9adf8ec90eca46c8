# The web server inside `serve`: /healthz, /readyz, /metrics over real loopback HTTP against the
# real binary, its limits (huge headers, a client trickling bytes), and the metrics text itself
# against a real SQLite store; `promtool check metrics` when Debian's prometheus is installed.
rp_add_gtest(web_test web_test.cpp)
target_link_libraries(web_test PRIVATE rp::web rp::controller Poco::Net Poco::Foundation nlohmann_json::nlohmann_json)
# Sign-in, sessions, CSRF, roles per route, API tokens, the no-admin mode and hostile parameters,
# against the real binary with users and tokens from its own `user add` and `token create`.
rp_add_gtest(web_auth_test web_auth_test.cpp)
target_link_libraries(web_auth_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
# TLS: a self-signed certificate made by `openssl` per test, HTTPS through `curl`, protocol
# versions and ciphers through `openssl s_client`, plain HTTP to the TLS port, bad key files.
rp_add_gtest(web_tls_test web_tls_test.cpp)
target_link_libraries(web_tls_test PRIVATE nlohmann_json::nlohmann_json)
# Single sign-on by a trusted reverse proxy, /password and one-time passwords, and the address
# and network parser behind trusted_proxies.
rp_add_gtest(web_signin_test web_signin_test.cpp)
target_link_libraries(web_signin_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
# The dashboard and its status board: the Accept-Language reader, the board's order, counts, RTO
# and running restores against a real SQLite store, its cache, and the page over loopback HTTP.
rp_add_gtest(web_board_test web_board_test.cpp)
target_link_libraries(web_board_test PRIVATE rp::web rp::controller nlohmann_json::nlohmann_json)
target_include_directories(web_board_test PRIVATE ${PROJECT_SOURCE_DIR}/web-status/src)
# The pages after sign-in (/targets/NAME, /runs/ID, /drills, /log, /evidence) for every role,
# against the real binary, a real estate of archives at two sites and a real restore test: the
# retention calendar's days, the chart parsed as XML, the buttons' CSRF and roles, the log's
# paging and hashes, an evidence bundle that `evidence verify` accepts, both languages.
rp_add_gtest(web_pages_test web_pages_test.cpp)
target_link_libraries(web_pages_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
# The example alerting rules of docs/prometheus/: promtool (Debian's prometheus, installed by
# scripts/deps.sh) accepts them, and their unit tests fire each alert on the series it is for.
add_test(NAME prometheus_rules
  COMMAND sh -c "promtool check rules alerts.yml && promtool test rules alerts.test.yml"
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}/docs/prometheus)
