# laredo_component(NAME): gives the library `laredo_<NAME>` (already added in the calling source
# directory) the common shape of an optional source: alias laredo::<NAME>, public headers in
# include/, private ones in src/ (and the top src/shared/), warnings, and installation as
# component <NAME>: an export set
# laredo-<NAME>-targets plus laredo-<NAME>-config.cmake (from cmake/laredo-<NAME>-config.cmake.in),
# which laredoConfig.cmake includes when a consumer asks for COMPONENTS <NAME>.
function(laredo_component name)
  set(target laredo_${name})
  add_library(laredo::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME ${target}
    POSITION_INDEPENDENT_CODE ON VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src
            # header-only helpers the sources share (src/shared/), never installed
            ${PROJECT_SOURCE_DIR}/src)
  laredo_set_warnings(${target})

  install(TARGETS ${target} EXPORT laredo-${name}-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/laredo
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT laredo-${name}-targets NAMESPACE laredo::
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/laredo)
  configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/laredo-${name}-config.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/laredo-${name}-config.cmake @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/laredo-${name}-config.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/laredo)
endfunction()
