# web/assets.cmake - builds the chat page (web/) with node and esbuild into
# one HTML file and compiles it into libtinylm as assets_gen.c, generated
# in the build directory (never committed).  Included from the top-level
# CMakeLists.txt after the tinylm library and enable_testing():
#     include(web/assets.cmake)
# node and the npm packages come from scripts/setup.sh (`npm ci`).

find_program(TLM_NODE node)
if(NOT TLM_NODE)
  message(FATAL_ERROR "tinylm: node is needed to build the web UI in web/; "
                      "run scripts/setup.sh (installs node and runs npm ci)")
endif()
if(NOT EXISTS ${PROJECT_SOURCE_DIR}/node_modules/esbuild/package.json)
  message(FATAL_ERROR "tinylm: node_modules/esbuild is missing, so the web UI cannot be "
                      "built; run `npm ci` at ${PROJECT_SOURCE_DIR} (scripts/setup.sh does)")
endif()

file(GLOB TLM_WEB_INPUTS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/web/src/*.js)
list(APPEND TLM_WEB_INPUTS ${PROJECT_SOURCE_DIR}/web/index.html
     ${PROJECT_SOURCE_DIR}/web/styles.css ${PROJECT_SOURCE_DIR}/web/build.mjs
     ${PROJECT_SOURCE_DIR}/package-lock.json)
set(TLM_WEB_OUT ${PROJECT_BINARY_DIR}/web)

# build.mjs prints its own message and exits non-zero when esbuild cannot
# run, which fails the build here.
add_custom_command(
  OUTPUT ${TLM_WEB_OUT}/assets_gen.c ${TLM_WEB_OUT}/index.html
  COMMAND ${TLM_NODE} ${PROJECT_SOURCE_DIR}/web/build.mjs ${TLM_WEB_OUT}
  DEPENDS ${TLM_WEB_INPUTS}
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
  COMMENT "Building the web UI (node web/build.mjs)"
  VERBATIM)
target_sources(tinylm PRIVATE ${TLM_WEB_OUT}/assets_gen.c)

# The C test of the page's HTTP answers links the generated page, so it is
# registered here rather than by the tests/*/test_*.c glob.
add_executable(web_serve_test ${PROJECT_SOURCE_DIR}/tests/web/web_serve.c)
target_include_directories(web_serve_test PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
target_compile_options(web_serve_test PRIVATE ${TLM_WARNINGS} -UNDEBUG)
target_link_libraries(web_serve_test PRIVATE tinylm)
add_test(NAME web_serve COMMAND web_serve_test)
set_tests_properties(web_serve PROPERTIES LABELS unit TIMEOUT 60 SKIP_RETURN_CODE 77
  ENVIRONMENT "TLM_SOURCE_DIR=${PROJECT_SOURCE_DIR};TLM_BINARY_DIR=${PROJECT_BINARY_DIR}")
