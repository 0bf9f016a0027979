// Shared plumbing of our custom ops (see ort_ops.h).
#include "ort_ops.h"

#include <climits>
#include <cstdlib>
#include <utility>

namespace hybridnets {

const OrtApi* g_api = nullptr;

namespace {

constexpr size_t kBytesPerTask = 64 * 1024;  // amortises a task, small enough to balance

struct Chunks {
  ChunkBody body;
  const void* job;
  size_t items;
  size_t per_task;
};

void run_chunk(void* data, size_t task) {
  const Chunks& chunks = *static_cast<const Chunks*>(data);
  const size_t begin = task * chunks.per_task;
  const size_t left = chunks.items - begin;
  const size_t end = left < chunks.per_task ? chunks.items : begin + chunks.per_task;
  chunks.body(chunks.job, begin, end);
}

const SimpleOp& simple(const OrtCustomOp* op) { return *static_cast<const SimpleOp*>(op); }

OrtStatus* ORT_API_CALL cb_create_kernel(const OrtCustomOp* op, const OrtApi*,
                                         const OrtKernelInfo*, void** kernel) {
  *kernel = const_cast<OrtCustomOp*>(op);  // stateless: the kernel is the op itself
  return nullptr;
}
OrtStatus* ORT_API_CALL cb_compute(void* kernel, OrtKernelContext* context) {
  return simple(static_cast<const OrtCustomOp*>(kernel)).compute(context);
}
void ORT_API_CALL cb_destroy_kernel(void*) {}
const char* ORT_API_CALL cb_name(const OrtCustomOp* op) { return simple(op).op_name; }
const char* ORT_API_CALL cb_provider(const OrtCustomOp*) { return "CPUExecutionProvider"; }
ONNXTensorElementDataType ORT_API_CALL cb_input_type(const OrtCustomOp* op, size_t index) {
  return simple(op).input_types[index];
}
size_t ORT_API_CALL cb_input_count(const OrtCustomOp* op) {
  return simple(op).input_types.size();
}
ONNXTensorElementDataType ORT_API_CALL cb_output_type(const OrtCustomOp* op, size_t) {
  return simple(op).output_type;
}
size_t ORT_API_CALL cb_output_count(const OrtCustomOp*) { return 1; }
OrtCustomOpInputOutputCharacteristic ORT_API_CALL cb_required(const OrtCustomOp*, size_t) {
  return INPUT_OUTPUT_REQUIRED;
}
OrtMemType ORT_API_CALL cb_memory(const OrtCustomOp*, size_t) { return OrtMemTypeDefault; }
int ORT_API_CALL cb_first_opset(const OrtCustomOp*) { return 1; }
int ORT_API_CALL cb_last_opset(const OrtCustomOp*) { return INT_MAX; }

}  // namespace

OrtStatus* tensor_shape(const OrtValue* value, std::vector<int64_t>* dims, size_t* count) {
  OrtTensorTypeAndShapeInfo* info = nullptr;
  HYBRIDNETS_RETURN_IF_ERROR(g_api->GetTensorTypeAndShape(value, &info));
  size_t rank = 0;
  OrtStatus* status = g_api->GetDimensionsCount(info, &rank);
  if (!status) {
    dims->resize(rank);
    status = g_api->GetDimensions(info, dims->data(), rank);
  }
  if (!status) status = g_api->GetTensorShapeElementCount(info, count);
  g_api->ReleaseTensorTypeAndShapeInfo(info);
  return status;
}

OrtStatus* input_data(OrtKernelContext* context, size_t index, const OrtValue** value,
                      const void** data) {
  HYBRIDNETS_RETURN_IF_ERROR(g_api->KernelContext_GetInput(context, index, value));
  void* mutable_data = nullptr;  // read, never written
  HYBRIDNETS_RETURN_IF_ERROR(
      g_api->GetTensorMutableData(const_cast<OrtValue*>(*value), &mutable_data));
  *data = mutable_data;
  return nullptr;
}

ChunkBody pick_kernel(ChunkBody avx512, ChunkBody portable, bool needs_vbmi) {
  if (avx512 == nullptr || std::getenv("HYBRIDNETS_PORTABLE_KERNELS")) return portable;
#if HYBRIDNETS_X86
  __builtin_cpu_init();
  const bool base = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512vl");
  if (base && (!needs_vbmi || __builtin_cpu_supports("avx512vbmi"))) return avx512;
#else
  (void)needs_vbmi;
#endif
  return portable;
}

OrtStatus* output_data(OrtKernelContext* context, const std::vector<int64_t>& dims, void** data) {
  OrtValue* value = nullptr;
  HYBRIDNETS_RETURN_IF_ERROR(
      g_api->KernelContext_GetOutput(context, 0, dims.data(), dims.size(), &value));
  return g_api->GetTensorMutableData(value, data);
}

OrtStatus* invalid_argument(const char* message) {
  return g_api->CreateStatus(ORT_INVALID_ARGUMENT, message);
}

OrtStatus* parallel_chunks(OrtKernelContext* context, size_t items, size_t bytes_per_item,
                           ChunkBody body, const void* job) {
  const size_t per_task = bytes_per_item >= kBytesPerTask ? 1 : kBytesPerTask / bytes_per_item;
  const size_t tasks = (items + per_task - 1) / per_task;
  if (tasks <= 1) {
    body(job, 0, items);
    return nullptr;
  }
  Chunks chunks{body, job, items, per_task};
  return g_api->KernelContext_ParallelFor(context, run_chunk, tasks, 0, &chunks);
}

SimpleOp::SimpleOp(const char* name, std::vector<ONNXTensorElementDataType> inputs,
                   ONNXTensorElementDataType output, OrtStatus* (*compute_fn)(OrtKernelContext*))
    : OrtCustomOp{},
      op_name(name),
      input_types(std::move(inputs)),
      output_type(output),
      compute(compute_fn) {
  version = kApiVersion;
  GetName = cb_name;
  GetExecutionProviderType = cb_provider;
  GetInputType = cb_input_type;
  GetInputTypeCount = cb_input_count;
  GetOutputType = cb_output_type;
  GetOutputTypeCount = cb_output_count;
  KernelDestroy = cb_destroy_kernel;
  GetInputCharacteristic = cb_required;
  GetOutputCharacteristic = cb_required;
  GetInputMemoryType = cb_memory;
  CreateKernelV2 = cb_create_kernel;
  KernelComputeV2 = cb_compute;
  GetStartVersion = cb_first_opset;
  GetEndVersion = cb_last_opset;
}

}  // namespace hybridnets
