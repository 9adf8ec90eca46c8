# The web server inside `serve`: /healthz, /readyz, /metrics over real loopback HTTP against the
# real binary, its limits (huge headers, a client trickling bytes), and the metrics text itself
# against a real SQLite store; `promtool check metrics` when Debian's prometheus is installed.
rp_add_gtest(web_test web_test.cpp)
target_link_libraries(web_test PRIVATE rp::web rp::controller Poco::Net Poco::Foundation nlohmann_json::nlohmann_json)
