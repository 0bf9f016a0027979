// What our ONNX Runtime custom ops share: the API table, error plumbing, tensor shapes,
// parallel loops over ORT's intra-op threads, and the OrtCustomOp boilerplate.
#pragma once

#include <onnxruntime_c_api.h>

#include <cstddef>
#include <cstdint>
#include <vector>

// AVX-512 kernels exist only on x86-64; elsewhere (aarch64 vehicle computers) the portable
// loops run. -DHYBRIDNETS_X86=0 builds that variant on x86-64 too.
#ifndef HYBRIDNETS_X86
#if defined(__x86_64__)
#define HYBRIDNETS_X86 1
#else
#define HYBRIDNETS_X86 0
#endif
#endif

namespace hybridnets {

// ONNX Runtime 1.17 is the oldest with KernelContext_ParallelFor.
constexpr uint32_t kApiVersion = 17;

// Set once by RegisterCustomOps before any kernel runs.
extern const OrtApi* g_api;

#define HYBRIDNETS_RETURN_IF_ERROR(call) \
  do {                                   \
    if (OrtStatus* status_ = (call)) {   \
      return status_;                    \
    }                                    \
  } while (0)

// Dimensions and element count of a tensor.
OrtStatus* tensor_shape(const OrtValue* value, std::vector<int64_t>* dims, size_t* count);

// Read-only data of an input (GetTensorData only arrived in API 20).
OrtStatus* input_data(OrtKernelContext* context, size_t index, const OrtValue** value,
                      const void** data);

// Output 0, allocated with `dims`, and its data.
OrtStatus* output_data(OrtKernelContext* context, const std::vector<int64_t>& dims, void** data);

OrtStatus* invalid_argument(const char* message);

// Calls body(begin, end) over [0, items) in chunks of about 64 KiB of work, on ORT's threads.
using ChunkBody = void (*)(const void* job, size_t begin, size_t end);
OrtStatus* parallel_chunks(OrtKernelContext* context, size_t items, size_t bytes_per_item,
                           ChunkBody body, const void* job);

// The kernel for this CPU: `avx512` (nullptr off x86-64) where AVX-512 F/BW/VL (plus VBMI if
// `needs_vbmi`) exist, else `portable`; HYBRIDNETS_PORTABLE_KERNELS=1 forces `portable`.
ChunkBody pick_kernel(ChunkBody avx512, ChunkBody portable, bool needs_vbmi);

// A CPU op with fixed input types, one output of `output_type`, and a stateless compute.
struct SimpleOp : OrtCustomOp {
  const char* op_name;
  std::vector<ONNXTensorElementDataType> input_types;
  ONNXTensorElementDataType output_type;
  OrtStatus* (*compute)(OrtKernelContext* context);

  SimpleOp(const char* name, std::vector<ONNXTensorElementDataType> inputs,
           ONNXTensorElementDataType output, OrtStatus* (*compute_fn)(OrtKernelContext*));
};

const SimpleOp& uint8_lookup_op();
const SimpleOp& uint8_channel_mul_op();
const SimpleOp& uint8_nearest_upsample_op();

}  // namespace hybridnets
