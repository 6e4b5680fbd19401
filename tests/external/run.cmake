# Configures, builds and runs a program directory outside the repo at 2 ranks (called by
# ctest): SOURCE, BINARY, RASK_DIR, MPIEXEC; PROGRAMS to run, comma-separated (default:
# external).
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -Drask_DIR=${RASK_DIR} -DREADME=${README}
                        -DCMAKE_BUILD_TYPE=Release RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the external program failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY} RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the external program failed")
endif()
if(NOT PROGRAMS)
  set(PROGRAMS external)
endif()
string(REPLACE "," ";" PROGRAMS "${PROGRAMS}")
foreach(program ${PROGRAMS})
  execute_process(COMMAND ${MPIEXEC} -n 2 --oversubscribe ${BINARY}/${program} WORKING_DIRECTORY ${BINARY}
                  RESULT_VARIABLE rc)
  if(rc)
    message(FATAL_ERROR "${program} failed")
  endif()
endforeach()
