// ai.hybridnets::Uint8NearestUpsample(x: uint8 [N, H, W, C], factors: int64 [2]) -> y: uint8
// [N, H * fh, W * fw, C], y[n, h, w] = x[n, h / fh, w / fw]: BiFPN's nearest-neighbour
// upsampling in ONNX Runtime's NHWC int8 graphs, where its generic Resize is several times
// slower. Each input row is widened once and the copies of that row are whole-row memcpys.
#include <cstring>

#include "ort_ops.h"

namespace hybridnets {
namespace {

struct Job {
  const uint8_t* x;
  uint8_t* y;
  size_t width;
  size_t channels;
  size_t factor_h;
  size_t factor_w;
};

// Items are input rows (image, row).
void upsample_rows(const void* data, size_t begin, size_t end) {
  const Job& job = *static_cast<const Job*>(data);
  const size_t pixel = job.channels;
  const size_t out_row = job.width * job.factor_w * pixel;
  for (size_t row = begin; row < end; ++row) {
    const uint8_t* source = job.x + row * job.width * pixel;
    uint8_t* first = job.y + row * job.factor_h * out_row;
    uint8_t* out = first;
    for (size_t w = 0; w < job.width; ++w) {
      for (size_t copy = 0; copy < job.factor_w; ++copy, out += pixel) {
        std::memcpy(out, source + w * pixel, pixel);
      }
    }
    for (size_t copy = 1; copy < job.factor_h; ++copy) {
      std::memcpy(first + copy * out_row, first, out_row);
    }
  }
}

OrtStatus* compute(OrtKernelContext* context) {
  const OrtValue* x_value = nullptr;
  const OrtValue* factors_value = nullptr;
  const void* x = nullptr;
  const void* factors = nullptr;
  HYBRIDNETS_RETURN_IF_ERROR(input_data(context, 0, &x_value, &x));
  HYBRIDNETS_RETURN_IF_ERROR(input_data(context, 1, &factors_value, &factors));
  std::vector<int64_t> dims;
  size_t count = 0;
  size_t factor_count = 0;
  HYBRIDNETS_RETURN_IF_ERROR(tensor_shape(factors_value, &dims, &factor_count));
  const int64_t* factor = static_cast<const int64_t*>(factors);
  if (factor_count != 2 || factor[0] < 1 || factor[1] < 1) {
    return invalid_argument("Uint8NearestUpsample: factors must be two integers >= 1");
  }
  HYBRIDNETS_RETURN_IF_ERROR(tensor_shape(x_value, &dims, &count));
  if (dims.size() != 4) return invalid_argument("Uint8NearestUpsample: x must be [N, H, W, C]");
  const std::vector<int64_t> out_dims{dims[0], dims[1] * factor[0], dims[2] * factor[1], dims[3]};
  void* y = nullptr;
  HYBRIDNETS_RETURN_IF_ERROR(output_data(context, out_dims, &y));
  const Job job{static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y),
                static_cast<size_t>(dims[2]),  static_cast<size_t>(dims[3]),
                static_cast<size_t>(factor[0]), static_cast<size_t>(factor[1])};
  const size_t rows = static_cast<size_t>(dims[0] * dims[1]);
  const size_t bytes_per_row = job.width * job.channels * job.factor_h * job.factor_w;
  return parallel_chunks(context, rows, bytes_per_row == 0 ? 1 : bytes_per_row, upsample_rows,
                         &job);
}

}  // namespace

const SimpleOp& uint8_nearest_upsample_op() {
  constexpr ONNXTensorElementDataType u8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
  constexpr ONNXTensorElementDataType i64 = ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64;
  static const SimpleOp op("Uint8NearestUpsample", {u8, i64}, u8, compute);
  return op;
}

}  // namespace hybridnets
