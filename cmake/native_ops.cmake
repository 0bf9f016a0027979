# Our ONNX Runtime custom-op library (hybridnets_core/native, fast INT8 ops), built as setup.py
# builds it: beside hybridnets_core/native/__init__.py under the Python extension file name, and
# only when ONNX Runtime's C headers are found (without them INT8 exports keep ONNX Runtime's
# own operators).
set(ORT_HEADER onnxruntime_c_api.h)
get_filename_component(python_prefix "${Python3_EXECUTABLE}" DIRECTORY)
get_filename_component(python_prefix "${python_prefix}" DIRECTORY)
find_path(ONNXRUNTIME_INCLUDE_DIR ${ORT_HEADER}
  HINTS "$ENV{ONNXRUNTIME_INCLUDE_DIR}" "${python_prefix}/include/onnxruntime"
  PATHS /usr/local/include/onnxruntime /usr/include/onnxruntime
  NO_DEFAULT_PATH)

if(NOT ONNXRUNTIME_INCLUDE_DIR)
  message(STATUS "hybridnets_ros: no ${ORT_HEADER}, native INT8 ops not built")
  return()
endif()

execute_process(
  COMMAND "${Python3_EXECUTABLE}" -c "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"
  OUTPUT_VARIABLE ext_suffix OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
file(GLOB native_sources CONFIGURE_DEPENDS "hybridnets_core/native/*.cc")
add_library(hybridnets_native_ops MODULE ${native_sources})
target_include_directories(hybridnets_native_ops PRIVATE "${ONNXRUNTIME_INCLUDE_DIR}")
target_compile_features(hybridnets_native_ops PRIVATE cxx_std_17)
target_compile_options(hybridnets_native_ops PRIVATE -O3 -fvisibility=hidden)
set_target_properties(hybridnets_native_ops PROPERTIES
  OUTPUT_NAME _ops PREFIX "" SUFFIX "${ext_suffix}")
install(TARGETS hybridnets_native_ops
  LIBRARY DESTINATION "${PYTHON_INSTALL_DIR}/hybridnets_core/native")
