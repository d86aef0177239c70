# ctest driver: install laredo from BUILD_DIR, relocate the prefix, build EXAMPLE_DIR against it
# with find_package(laredo) and run it; then the same for COMPONENTS_DIR (pg + kinesis) if given.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/staging")
# A relocatable package works from wherever it is copied.
file(RENAME "${WORK_DIR}/staging" "${WORK_DIR}/prefix")
run(${CMAKE_COMMAND} -S "${EXAMPLE_DIR}" -B "${WORK_DIR}/build"
    -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build" -j2)
run("${WORK_DIR}/build/custom_source")
# The optional components, when this build has them.
if(COMPONENTS_DIR)
  run(${CMAKE_COMMAND} -S "${COMPONENTS_DIR}" -B "${WORK_DIR}/components"
      -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
      -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
  run(${CMAKE_COMMAND} --build "${WORK_DIR}/components" -j2)
  run("${WORK_DIR}/components/components_consumer")
endif()
