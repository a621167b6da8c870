# Builds the Debian package once for the tests that install it
# (tests/packaging/install_test.cc), afresh, into OUT, with CPack from the
# build folder BUILD.
#   cmake -DCPACK=<cpack> -DBUILD=<build folder> -DOUT=<folder> -P ...
file(REMOVE_RECURSE "${OUT}")
execute_process(
  COMMAND "${CPACK}" -G DEB --config "${BUILD}/CPackConfig.cmake" -B "${OUT}"
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "cpack failed: ${status}")
endif()
file(GLOB packages "${OUT}/*.deb")
list(LENGTH packages count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "cpack made ${count} packages in ${OUT}, not one")
endif()
