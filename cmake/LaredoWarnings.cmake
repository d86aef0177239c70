# Warnings for the project's own targets; -Werror when LAREDO_WERROR is on (CI turns it on).
function(laredo_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough
    # g++ 12 warns on designated initializers that omit members with defaults, which is how
    # option aggregates are meant to be used.
    -Wno-missing-field-initializers)
  if(LAREDO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
