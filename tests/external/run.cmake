# Configures, builds and runs tests/external at 2 ranks (called by ctest).
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${BINARY} -Drask_DIR=${RASK_DIR} -DREADME=${README}
                        -DCMAKE_BUILD_TYPE=Release RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the external program failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY} RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the external program failed")
endif()
execute_process(COMMAND ${MPIEXEC} -n 2 --oversubscribe ${BINARY}/external WORKING_DIRECTORY ${BINARY}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the external program failed")
endif()
execute_process(COMMAND ${MPIEXEC} -n 2 --oversubscribe ${BINARY}/readme WORKING_DIRECTORY ${BINARY}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the README's program failed")
endif()
execute_process(COMMAND ${MPIEXEC} -n 2 --oversubscribe ${BINARY}/keys WORKING_DIRECTORY ${BINARY}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the keys program failed")
endif()
