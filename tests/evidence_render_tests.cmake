# The evidence report's renderers: the HTML escaped by construction, the PDF read back with the
# real pdftotext and pdfinfo (poppler-utils), each CSV through an RFC 4180 reader. The suite also
# reaches controller/src/evidence_render.h (the PDF with a chosen font, the text cleaner).
rp_add_gtest(evidence_render_test evidence_render_test.cpp)
target_link_libraries(evidence_render_test PRIVATE rp::controller)
target_include_directories(evidence_render_test PRIVATE ${PROJECT_SOURCE_DIR}/controller/src)
