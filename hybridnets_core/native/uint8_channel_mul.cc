// ai.hybridnets::Uint8ChannelMul(x, x_scale, x_zero, gate, gate_scale, gate_zero, y_scale,
// y_zero) -> y: quantized x * gate[image, channel], uint8 in and out, the gate [N or 1, 1, ...,
// C] running along x's last axis (channels in ONNX Runtime's NHWC int8 graphs). Replaces
// QLinearMul for EfficientNet's squeeze-and-excitation, which ONNX Runtime runs through its
// general broadcasting path.
#include <algorithm>

#include "ort_ops.h"

#if HYBRIDNETS_X86
#include <immintrin.h>
#endif

namespace hybridnets {
namespace {

// |multiplier| cap: 255 * 2^14 < 2^22 keeps the rounding exact and int32 conversions in range;
// any larger multiplier saturates every non-zero input to 0 or 255 all the same.
constexpr float kMaxMultiplier = 16384.0f;

enum Input { kX, kXScale, kXZero, kGate, kGateScale, kGateZero, kYScale, kYZero };

struct Job {
  const uint8_t* x;
  uint8_t* y;
  const float* multiplier;  // per gate and channel: x_scale * gate value / y_scale
  size_t channels;
  size_t rows_per_gate;  // pixels of one image (N gates), or of the whole batch (one gate)
  int x_zero;
  int y_zero;
};

// Round half to even without lrintf, whose errno contract stops vectorisation: adding and
// subtracting 1.5 * 2^23 leaves the nearest integer, ties to even, for |value| < 2^22
// (kMaxMultiplier keeps every value below that).
inline float round_half_even(float value) {
  constexpr float kShift = 12582912.0f;
  return (value + kShift) - kShift;
}

// Plain C++ that compilers vectorise (SSE2/NEON); exact like the AVX-512 kernel.
void scale_portable(const void* data, size_t begin, size_t end) {
  const Job& job = *static_cast<const Job*>(data);
  const size_t channels = job.channels;
  const int x_zero = job.x_zero;
  const int y_zero = job.y_zero;
  for (size_t row = begin; row < end; ++row) {
    const uint8_t* __restrict x = job.x + row * channels;
    uint8_t* __restrict y = job.y + row * channels;
    const float* __restrict multiplier = job.multiplier + row / job.rows_per_gate * channels;
    for (size_t c = 0; c < channels; ++c) {
      const float value = static_cast<float>(x[c] - x_zero) * multiplier[c];
      const int code = static_cast<int>(round_half_even(value)) + y_zero;
      y[c] = static_cast<uint8_t>(std::min(std::max(code, 0), 255));
    }
  }
}

#if HYBRIDNETS_X86
__attribute__((target("avx512f,avx512bw,avx512vl"))) void scale_avx512(const void* data,
                                                                       size_t begin, size_t end) {
  const Job& job = *static_cast<const Job*>(data);
  const __m512i x_zero = _mm512_set1_epi32(job.x_zero);
  const __m512i y_zero = _mm512_set1_epi32(job.y_zero);
  const __m512i zero = _mm512_setzero_si512();
  for (size_t row = begin; row < end; ++row) {
    const uint8_t* x = job.x + row * job.channels;
    uint8_t* y = job.y + row * job.channels;
    const float* multiplier = job.multiplier + row / job.rows_per_gate * job.channels;
    for (size_t c = 0; c < job.channels; c += 16) {
      const size_t left = job.channels - c;
      const __mmask16 lanes = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      const __m512i codes = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(lanes, x + c));
      const __m512 value = _mm512_cvtepi32_ps(_mm512_sub_epi32(codes, x_zero));
      const __m512 scaled = _mm512_mul_ps(value, _mm512_maskz_loadu_ps(lanes, multiplier + c));
      // round half to even (the default MXCSR mode), shift, clamp to 0..255 and narrow
      const __m512i shifted = _mm512_add_epi32(_mm512_cvtps_epi32(scaled), y_zero);
      const __m512i out = _mm512_max_epi32(shifted, zero);
      _mm_mask_storeu_epi8(y + c, lanes, _mm512_cvtusepi32_epi8(out));
    }
  }
}

constexpr ChunkBody kAvx512 = scale_avx512;
#else
constexpr ChunkBody kAvx512 = nullptr;
#endif

const ChunkBody g_kernel = pick_kernel(kAvx512, scale_portable, false);

template <typename T>
OrtStatus* scalar_input(OrtKernelContext* context, size_t index, T* out) {
  const OrtValue* value = nullptr;
  const void* data = nullptr;
  HYBRIDNETS_RETURN_IF_ERROR(input_data(context, index, &value, &data));
  *out = *static_cast<const T*>(data);
  return nullptr;
}

OrtStatus* compute(OrtKernelContext* context) {
  const OrtValue* x_value = nullptr;
  const OrtValue* gate_value = nullptr;
  const void* x = nullptr;
  const void* gate = nullptr;
  float x_scale = 0, gate_scale = 0, y_scale = 0;
  uint8_t x_zero = 0, gate_zero = 0, y_zero = 0;
  HYBRIDNETS_RETURN_IF_ERROR(input_data(context, kX, &x_value, &x));
  HYBRIDNETS_RETURN_IF_ERROR(input_data(context, kGate, &gate_value, &gate));
  HYBRIDNETS_RETURN_IF_ERROR(scalar_input(context, kXScale, &x_scale));
  HYBRIDNETS_RETURN_IF_ERROR(scalar_input(context, kXZero, &x_zero));
  HYBRIDNETS_RETURN_IF_ERROR(scalar_input(context, kGateScale, &gate_scale));
  HYBRIDNETS_RETURN_IF_ERROR(scalar_input(context, kGateZero, &gate_zero));
  HYBRIDNETS_RETURN_IF_ERROR(scalar_input(context, kYScale, &y_scale));
  HYBRIDNETS_RETURN_IF_ERROR(scalar_input(context, kYZero, &y_zero));

  std::vector<int64_t> dims;
  std::vector<int64_t> gate_dims;
  size_t count = 0;
  size_t gate_count = 0;
  HYBRIDNETS_RETURN_IF_ERROR(tensor_shape(gate_value, &gate_dims, &gate_count));
  HYBRIDNETS_RETURN_IF_ERROR(tensor_shape(x_value, &dims, &count));
  const size_t channels = dims.empty() ? 0 : static_cast<size_t>(dims.back());
  const size_t gates = channels == 0 ? 0 : gate_count / channels;
  const bool per_image = gates > 1 && gate_dims.front() == dims.front();
  if (channels == 0 || gate_dims.empty() || static_cast<size_t>(gate_dims.back()) != channels ||
      gate_count != gates * channels || (gates != 1 && !per_image)) {
    return invalid_argument(
        "Uint8ChannelMul: the gate must be [N or 1, 1, ..., C] along the input's last axis");
  }
  std::vector<float> multiplier(gate_count);
  const uint8_t* gate_codes = static_cast<const uint8_t*>(gate);
  for (size_t i = 0; i < gate_count; ++i) {
    const float gate_value = static_cast<float>(gate_codes[i] - gate_zero);
    const float value = x_scale * gate_scale * gate_value / y_scale;
    multiplier[i] = std::min(std::max(value, -kMaxMultiplier), kMaxMultiplier);
  }
  const size_t rows = count / channels;
  void* y = nullptr;
  HYBRIDNETS_RETURN_IF_ERROR(output_data(context, dims, &y));
  const Job job{static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y), multiplier.data(),
                channels, rows / gates, x_zero, y_zero};
  return parallel_chunks(context, rows, channels, g_kernel, &job);
}

}  // namespace

const SimpleOp& uint8_channel_mul_op() {
  constexpr ONNXTensorElementDataType u8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
  constexpr ONNXTensorElementDataType f32 = ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
  static const SimpleOp op("Uint8ChannelMul", {u8, f32, u8, u8, f32, u8, f32, u8}, u8, compute);
  return op;
}

}  // namespace hybridnets
