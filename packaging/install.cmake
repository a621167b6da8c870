# Installing ticketsim (`cmake --install`, `make install PREFIX=...`) and its
# Debian package (`make package`, through CPack), laid out as Debian expects:
#   bin/ticketsim
#   share/ticketsim/scenarios   the library (the program finds it from its
#                               own place: ../share/ticketsim/scenarios)
#   share/ticketsim/helpers     helpers for a program's events
#   share/ticketsim/examples    the buyer programs the library's program
#                               scenarios run (../examples from scenarios/)
#   share/doc/ticketsim         README.md, BENCHMARKS.md, docs/, and examples
#                               (a link to share/ticketsim/examples)
#   share/man/man1/ticketsim.1.gz
#   share/bash-completion/completions/ticketsim
#   share/zsh/vendor-completions/_ticketsim
#   share/fish/vendor_completions.d/ticketsim.fish

# The manual page and completions come from the built program (`ticketsim
# manual`, `ticketsim completion SHELL`), so they say what --help says.
set(TICKETSIM_GENERATED ${CMAKE_BINARY_DIR}/generated)
set(generated_files ${TICKETSIM_GENERATED}/ticketsim.1.gz
  ${TICKETSIM_GENERATED}/ticketsim.bash ${TICKETSIM_GENERATED}/_ticketsim
  ${TICKETSIM_GENERATED}/ticketsim.fish)
add_custom_command(OUTPUT ${generated_files}
  COMMAND ${CMAKE_COMMAND} -DTICKETSIM=$<TARGET_FILE:ticketsim>
    -DOUT=${TICKETSIM_GENERATED} -P ${CMAKE_SOURCE_DIR}/packaging/generate.cmake
  DEPENDS ticketsim ${CMAKE_SOURCE_DIR}/packaging/generate.cmake
  COMMENT "Writing the manual page and the shell completions"
  VERBATIM)
add_custom_target(ticketsim_docs ALL DEPENDS ${generated_files})

set(data ${CMAKE_INSTALL_DATADIR}/ticketsim)
install(TARGETS ticketsim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY scenarios/ DESTINATION ${data}/scenarios
  FILES_MATCHING PATTERN "*.toml")
install(DIRECTORY helpers examples DESTINATION ${data} USE_SOURCE_PERMISSIONS
  PATTERN __pycache__ EXCLUDE PATTERN "*.pyc" EXCLUDE)
install(FILES README.md BENCHMARKS.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Debian keeps examples under the documentation: a link, so that the
# library's scenarios and a reader find the same files.
file(MAKE_DIRECTORY ${TICKETSIM_GENERATED})
file(RELATIVE_PATH examples_link ${CMAKE_INSTALL_FULL_DOCDIR}
  ${CMAKE_INSTALL_FULL_DATADIR}/ticketsim/examples)
file(CREATE_LINK ${examples_link} ${TICKETSIM_GENERATED}/examples SYMBOLIC)
install(FILES ${TICKETSIM_GENERATED}/examples
  DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${TICKETSIM_GENERATED}/ticketsim.1.gz
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${TICKETSIM_GENERATED}/ticketsim.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  RENAME ticketsim)
install(FILES ${TICKETSIM_GENERATED}/_ticketsim
  DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${TICKETSIM_GENERATED}/ticketsim.fish
  DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)

# `cmake --install` and CPack install what is built, and build nothing
# themselves (CPack would otherwise build every target, the tests too):
# `make install` and `make package` build the program and its pages first.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

# The package: its dependencies are the Debian runtime packages of the
# libraries the program links (dpkg-shlibdeps over the binary).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ticketsim)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "buyer processes race for tickets; the checker says what went wrong")
# The long description; CPack puts the summary above it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "ticketsim makes race conditions visible: buyer processes race for a ticket
count held in a file, shared memory, SQLite or PostgreSQL, with or without a
lock, and a checker reports exactly what went wrong (tickets sold twice,
updates lost, torn reads, abandoned locks), with witnesses. It comes with a
library of scenarios for a class, stress profiles for CI (JUnit, JSON and
HTML reports), and helpers to check buyer programs of your own.")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "ticketsim developers" CACHE STRING
  "The Maintainer field of the Debian package")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The library's program scenarios run Python and C buyers; its PostgreSQL
# scenarios start a throwaway server.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3, gcc | c-compiler, postgresql")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "bash-completion")
include(CPack)
