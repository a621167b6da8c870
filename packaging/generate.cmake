# Writes what the built program says of itself: the manual page, gzipped as
# Debian installs it, and the shell completion scripts.
#   cmake -DTICKETSIM=<the program> -DOUT=<folder> -P generate.cmake
file(MAKE_DIRECTORY "${OUT}")

function(ticketsim_write file)
  execute_process(COMMAND "${TICKETSIM}" ${ARGN}
    OUTPUT_FILE "${OUT}/${file}" RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "ticketsim ${ARGN} failed: ${status}")
  endif()
endfunction()

ticketsim_write(ticketsim.1 manual)
# -n: no name or time stamp in the header, so the same page makes the same
# file.
execute_process(COMMAND gzip -9nf "${OUT}/ticketsim.1" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "gzip ticketsim.1 failed: ${status}")
endif()
ticketsim_write(ticketsim.bash completion bash)
ticketsim_write(_ticketsim completion zsh)
ticketsim_write(ticketsim.fish completion fish)
