# CUDA support for libl2l.
#
# l2l_find_cuda(): decides from L2L_CUDA (AUTO|ON|OFF) whether to build the CUDA backend and
#   sets L2L_WITH_CUDA.  Must run before project() so that the architectures apply.
# l2l_add_cuda_backend(target source...): compiles the CUDA sources into target, with the static
#   CUDA runtime, for sm_80 and sm_90 plus compute_90 PTX, and fails the build when ptxas
#   reports a register spill (-Xptxas -v).  FP32 subnormals are kept (no -ftz: see below).

macro(l2l_find_cuda)
  string(TOUPPER "${L2L_CUDA}" _l2l_cuda)
  set(L2L_WITH_CUDA OFF)
  if(NOT _l2l_cuda STREQUAL "OFF")
    if(NOT CMAKE_CUDA_COMPILER)
      find_program(_l2l_nvcc nvcc HINTS /usr/local/cuda/bin ENV CUDA_HOME ENV CUDA_PATH
                   PATH_SUFFIXES bin)
      if(_l2l_nvcc)
        set(CMAKE_CUDA_COMPILER "${_l2l_nvcc}")
      endif()
    endif()
    include(CheckLanguage)
    check_language(CUDA)
    if(CMAKE_CUDA_COMPILER)
      set(L2L_WITH_CUDA ON)
      if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
        set(CMAKE_CUDA_ARCHITECTURES 80-real 90)
      endif()
      message(STATUS "l2l: building the CUDA backend with ${CMAKE_CUDA_COMPILER} for ${CMAKE_CUDA_ARCHITECTURES}")
    elseif(_l2l_cuda STREQUAL "ON")
      message(FATAL_ERROR "l2l: L2L_CUDA=ON but no CUDA compiler (nvcc) was found")
    else()
      message(STATUS "l2l: nvcc not found, building the CPU backend only")
    endif()
  else()
    message(STATUS "l2l: CUDA backend disabled (L2L_CUDA=OFF)")
  endif()
endmacro()

function(l2l_add_cuda_backend target)
  set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
  set(_objects ${target}_cuda)
  add_library(${_objects} OBJECT ${ARGN})
  set_target_properties(${_objects} PROPERTIES
    CUDA_RUNTIME_LIBRARY Static POSITION_INDEPENDENT_CODE ON CUDA_STANDARD 17)
  target_include_directories(${_objects} PRIVATE
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src/common)
  # Subnormals are kept: no -ftz=true (nvcc's default is -ftz=false) and no --use_fast_math
  # (which implies it).  The CPU backend flushes them (native/src/cpu/denormals.h) because
  # processors take a slow path on them; NVIDIA GPUs add, multiply and fuse FP32 subnormal
  # operands and results in the FMA pipelines at full speed, so flushing would buy nothing in the
  # kernels' multiply-adds, and IEEE results keep the kernels closest to the float64 reference
  # (tests/cuda) and to PyTorch's CUDA kernels, which keep subnormals too.  The divisions stay
  # IEEE either way (-prec-div=true).  The two backends may therefore differ where a value is
  # subnormal (l2l.h, "Floating-point mode"), as they already differ by rounding.
  target_compile_options(${_objects} PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:-Xptxas=-v -Xcompiler=-fvisibility=hidden --expt-relaxed-constexpr>)
  # ptxas -v prints "N bytes spill stores, M bytes spill loads" per kernel; fail on any spill.
  set_target_properties(${_objects} PROPERTIES RULE_LAUNCH_COMPILE
    "${CMAKE_COMMAND} -P ${PROJECT_SOURCE_DIR}/../cmake/L2lNoSpills.cmake --")
  target_sources(${target} PRIVATE $<TARGET_OBJECTS:${_objects}>)
  set_target_properties(${target} PROPERTIES CUDA_RUNTIME_LIBRARY Static)
  find_package(CUDAToolkit REQUIRED)
  target_link_libraries(${target} PRIVATE CUDA::cudart_static)
  target_compile_definitions(${target} PRIVATE L2L_WITH_CUDA=1)
endfunction()
