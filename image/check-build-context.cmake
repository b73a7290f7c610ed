# Checks that the Dockerfile's build stage configures: copies exactly the paths its build stage
# COPYs (the build context is this repository) into a scratch folder, then configures that copy with
# the options of the Dockerfile's own `cmake -S /src` line, except LEASE_ELECTOR_STATIC (it needs
# image/build-curl's static libcurl; .ci/image builds the real image). Why: the image's build stage
# sees only what it copies, and a folder that the top-level CMakeLists.txt starts to read (bench/ did)
# broke the image while every developer build, which has the whole tree, stayed green.
#   cmake -DSOURCE_DIR=REPO -DWORK_DIR=SCRATCH -P image/check-build-context.cmake
# Fast (a configure, no compile), so the test command runs it (test/CMakeLists.txt). It configures
# for the machine it runs on: the arm64 build's toolchain file (image/target cmake-options) needs
# the cross compilers, which only the build stage installs; .ci/image builds that one for real.
cmake_minimum_required(VERSION 3.22)
foreach(variable SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${variable})
    message(FATAL_ERROR "usage: cmake -DSOURCE_DIR=REPO -DWORK_DIR=SCRATCH -P ${CMAKE_CURRENT_LIST_FILE}")
  endif()
endforeach()

file(READ "${SOURCE_DIR}/Dockerfile" dockerfile)
# One instruction a line: join continuation lines, and keep ';' out of CMake's list splitting.
string(REGEX REPLACE "\\\\\n" " " dockerfile "${dockerfile}")
string(REPLACE ";" "<semicolon>" dockerfile "${dockerfile}")
string(REPLACE "\n" ";" lines "${dockerfile}")

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(root "${WORK_DIR}/root")  # stands for the build stage's /
set(in_build_stage FALSE)
set(copies 0)
set(cmake_line "")
foreach(line IN LISTS lines)
  string(STRIP "${line}" line)
  if(line MATCHES "^FROM ")
    # The first stage is the build stage; the next FROM ends it.
    if(in_build_stage)
      break()
    endif()
    set(in_build_stage TRUE)
  elseif(in_build_stage AND line MATCHES "^COPY ")
    if(line MATCHES "--from")
      continue()
    endif()
    string(REGEX REPLACE "^COPY +" "" arguments "${line}")
    separate_arguments(arguments UNIX_COMMAND "${arguments}")
    list(POP_BACK arguments destination)
    foreach(source IN LISTS arguments)
      if(NOT EXISTS "${SOURCE_DIR}/${source}")
        message(FATAL_ERROR "the Dockerfile copies ${source}, which is not in the repository")
      endif()
      # Docker's rules: a folder's contents go to the destination; a file goes into a destination
      # that ends in '/', else to the destination path itself.
      if(IS_DIRECTORY "${SOURCE_DIR}/${source}")
        file(COPY "${SOURCE_DIR}/${source}/" DESTINATION "${root}${destination}")
      elseif(destination MATCHES "/$")
        file(COPY "${SOURCE_DIR}/${source}" DESTINATION "${root}${destination}")
      else()
        get_filename_component(directory "${root}${destination}" DIRECTORY)
        get_filename_component(name "${destination}" NAME)
        file(MAKE_DIRECTORY "${directory}")
        file(COPY_FILE "${SOURCE_DIR}/${source}" "${directory}/${name}")
      endif()
      math(EXPR copies "${copies} + 1")
    endforeach()
  elseif(in_build_stage AND line MATCHES "^RUN .*cmake -S ")
    set(cmake_line "${line}")
  endif()
endforeach()

if(copies EQUAL 0 OR cmake_line STREQUAL "")
  message(FATAL_ERROR "found no COPY or no `cmake -S` line in the Dockerfile's build stage: "
                      "this check no longer understands the Dockerfile")
endif()
if(NOT cmake_line MATCHES "cmake -S ([^ ]+)")
  message(FATAL_ERROR "cannot read the source folder of: ${cmake_line}")
endif()
set(stage_source "${CMAKE_MATCH_1}")
string(REGEX MATCHALL "-D[A-Za-z_]+=[^ ]+" options "${cmake_line}")
list(FILTER options EXCLUDE REGEX "^-DLEASE_ELECTOR_STATIC=")
list(LENGTH options option_count)
if(option_count EQUAL 0)
  message(FATAL_ERROR "found no -D options in: ${cmake_line}")
endif()

message(STATUS "configuring ${stage_source} as the Dockerfile copies it, with ${options}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${root}${stage_source}" -B "${WORK_DIR}/build" -G Ninja ${options}
  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "the Dockerfile's build stage does not configure (cmake exited ${result}):\n${output}")
endif()
message(STATUS "the Dockerfile's build stage configures")
