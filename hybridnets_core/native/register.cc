// The library's entry point: ONNX Runtime calls RegisterCustomOps when a session's options
// load this file (SessionOptions.register_custom_ops_library).
#include <mutex>
#include <vector>

#include "ort_ops.h"

namespace {

constexpr const char* kDomain = "ai.hybridnets";

// Domains must outlive every session that uses them: they are released with the library.
struct Domains {
  std::mutex lock;
  std::vector<OrtCustomOpDomain*> all;
  ~Domains() {
    for (OrtCustomOpDomain* domain : all) hybridnets::g_api->ReleaseCustomOpDomain(domain);
  }
};
Domains g_domains;

}  // namespace

extern "C" __attribute__((visibility("default"))) OrtStatus* ORT_API_CALL
RegisterCustomOps(OrtSessionOptions* options, const OrtApiBase* api_base) {
  const OrtApi* api = api_base->GetApi(hybridnets::kApiVersion);
  if (!api) {
    return api_base->GetApi(1)->CreateStatus(
        ORT_FAIL, "hybridnets' ONNX Runtime ops need onnxruntime 1.17 or newer");
  }
  hybridnets::g_api = api;
  OrtCustomOpDomain* domain = nullptr;
  HYBRIDNETS_RETURN_IF_ERROR(api->CreateCustomOpDomain(kDomain, &domain));
  {
    std::lock_guard<std::mutex> hold(g_domains.lock);
    g_domains.all.push_back(domain);
  }
  for (const hybridnets::SimpleOp* op :
       {&hybridnets::uint8_lookup_op(), &hybridnets::uint8_channel_mul_op(),
        &hybridnets::uint8_nearest_upsample_op()}) {
    auto* custom_op = const_cast<hybridnets::SimpleOp*>(op);  // ORT's API is not const
    HYBRIDNETS_RETURN_IF_ERROR(api->CustomOpDomain_Add(domain, custom_op));
  }
  return api->AddCustomOpDomain(options, domain);
}
