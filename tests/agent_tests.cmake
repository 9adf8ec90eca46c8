# Restore agents and serve on several hosts (docs/multi-host.md): agents as separate processes,
# each in UTS and (on PostgreSQL) network namespaces of its own, one killed with SIGKILL, one cut
# off past its lease, locations, and two serves of which one schedules. Leases are 3 s; the whole
# suite takes well under two minutes.
rp_add_gtest(agent_test agent_test.cpp)
target_link_libraries(agent_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
