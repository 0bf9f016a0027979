// ai.hybridnets::Uint8Lookup(x: uint8, table: uint8[256]) -> y: uint8, y[i] = table[x[i]].
// The INT8 exporter folds each quantized swish (QLinearSigmoid + QLinearMul) and each multiply
// by a constant into one such lookup. AVX-512 VBMI looks up 64 bytes per instruction pair;
// other CPUs take a scalar loop (HYBRIDNETS_PORTABLE_KERNELS=1 forces it, for tests).
#include <cstring>

#include "ort_ops.h"

#if HYBRIDNETS_X86
#include <immintrin.h>
#endif

namespace hybridnets {
namespace {

constexpr size_t kTableSize = 256;

struct Job {
  const uint8_t* x;
  uint8_t* y;
  const uint8_t* table;
};

// Eight codes per 64-bit load and store; byte k of `codes` is x[i + k] on either endianness
// as long as the result goes back the same way.
void lookup_portable(const void* data, size_t begin, size_t end) {
  const Job& job = *static_cast<const Job*>(data);
  const uint8_t* table = job.table;
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    uint64_t codes = 0;
    uint64_t out = 0;
    std::memcpy(&codes, job.x + i, sizeof codes);
    for (unsigned byte = 0; byte < 8; ++byte) {
      out |= static_cast<uint64_t>(table[(codes >> (8 * byte)) & 0xFF]) << (8 * byte);
    }
    std::memcpy(job.y + i, &out, sizeof out);
  }
  for (; i < end; ++i) job.y[i] = table[job.x[i]];
}

#if HYBRIDNETS_X86
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void lookup_vbmi(const void* data,
                                                                         size_t begin,
                                                                         size_t end) {
  const Job& job = *static_cast<const Job*>(data);
  // Two 128-entry halves, each indexed by the low 7 bits; bit 7 picks the half.
  const __m512i t0 = _mm512_loadu_si512(job.table);
  const __m512i t1 = _mm512_loadu_si512(job.table + 64);
  const __m512i t2 = _mm512_loadu_si512(job.table + 128);
  const __m512i t3 = _mm512_loadu_si512(job.table + 192);
  for (size_t i = begin; i < end; i += 64) {
    const size_t left = end - i;
    const __mmask64 lanes = left >= 64 ? ~__mmask64{0} : (__mmask64{1} << left) - 1;
    const __m512i index = _mm512_maskz_loadu_epi8(lanes, job.x + i);
    const __m512i low = _mm512_permutex2var_epi8(t0, index, t1);
    const __m512i high = _mm512_permutex2var_epi8(t2, index, t3);
    const __m512i out = _mm512_mask_blend_epi8(_mm512_movepi8_mask(index), low, high);
    _mm512_mask_storeu_epi8(job.y + i, lanes, out);
  }
}

constexpr ChunkBody kAvx512 = lookup_vbmi;
#else
constexpr ChunkBody kAvx512 = nullptr;
#endif

const ChunkBody g_kernel = pick_kernel(kAvx512, lookup_portable, true);

OrtStatus* compute(OrtKernelContext* context) {
  const OrtValue* x_value = nullptr;
  const OrtValue* table_value = nullptr;
  const void* x = nullptr;
  const void* table = nullptr;
  HYBRIDNETS_RETURN_IF_ERROR(input_data(context, 0, &x_value, &x));
  HYBRIDNETS_RETURN_IF_ERROR(input_data(context, 1, &table_value, &table));
  std::vector<int64_t> dims;
  size_t count = 0;
  HYBRIDNETS_RETURN_IF_ERROR(tensor_shape(table_value, &dims, &count));
  if (count != kTableSize) return invalid_argument("Uint8Lookup: the table needs 256 entries");
  HYBRIDNETS_RETURN_IF_ERROR(tensor_shape(x_value, &dims, &count));
  void* y = nullptr;
  HYBRIDNETS_RETURN_IF_ERROR(output_data(context, dims, &y));
  const Job job{static_cast<const uint8_t*>(x), static_cast<uint8_t*>(y),
                static_cast<const uint8_t*>(table)};
  return parallel_chunks(context, count, 1, g_kernel, &job);
}

}  // namespace

const SimpleOp& uint8_lookup_op() {
  constexpr ONNXTensorElementDataType u8 = ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8;
  static const SimpleOp op("Uint8Lookup", {u8, u8}, u8, compute);
  return op;
}

}  // namespace hybridnets
