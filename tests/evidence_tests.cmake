# Evidence bundles through the real binary: export, `evidence verify`, sha256sum and openssl as
# an auditor runs them, tampering, pseudonyms, the PDF through pdftotext, `log verify --against`.
rp_add_gtest(evidence_test evidence_test.cpp)
target_link_libraries(evidence_test PRIVATE rp::controller nlohmann_json::nlohmann_json)
