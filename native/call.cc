// Checked calls from JS (the plan is in call.h).
#include "call.h"

#include <cmath>
#include <cstdio>
#include <cstring>

namespace aloop {

namespace {

using ErrorMaker = napi_status (*)(napi_env, napi_value, napi_value, napi_value*);

void Throw(napi_env env, ErrorMaker make, const std::string& message) {
  // Each step fails (and nothing is thrown) once the environment cannot run JS; a failed step
  // is never turned into a fatal error.
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
  napi_value text;
  napi_value error;
  if (napi_create_string_utf8(env, message.data(), message.size(), &text) != napi_ok) return;
  if (make(env, nullptr, text, &error) != napi_ok) return;
  napi_throw(env, error);
}

}  // namespace

void ThrowTypeError(napi_env env, const std::string& message) { Throw(env, napi_create_type_error, message); }
void ThrowRangeError(napi_env env, const std::string& message) { Throw(env, napi_create_range_error, message); }
void ThrowError(napi_env env, const std::string& message) { Throw(env, napi_create_error, message); }

Call::Call(napi_env env, napi_callback_info info) : env_(env) {
  void* data = nullptr;
  ok_ = napi_get_cb_info(env, info, &argc_, argv_, &self_, &data) == napi_ok;
  // argc_ is the number JS passed; only kMaxArgs of them were copied.
  if (argc_ > kMaxArgs) argc_ = kMaxArgs;
  if (data != nullptr) name_ = static_cast<const char*>(data);
}

bool Call::TypeError(const std::string& message) const {
  ThrowTypeError(env_, std::string(name_) + ": " + message);
  return false;
}

bool Call::RangeError(const std::string& message) const {
  ThrowRangeError(env_, std::string(name_) + ": " + message);
  return false;
}

bool Call::Missing(size_t i, const char* what, const char* expected) const {
  return TypeError(std::string(what) + " (argument " + std::to_string(i + 1) + ") must be " + expected);
}

bool Call::Int(size_t i, const char* what, int32_t lo, int32_t hi, int32_t* out) {
  double v = 0;
  // One N-API call on the hot path: napi_number_expected tells any other type.
  if (i >= argc_ || napi_get_value_double(env_, argv_[i], &v) != napi_ok) return Missing(i, what, "a number");
  if (!(v >= lo && v <= hi) || std::trunc(v) != v) {
    char got[32];
    if (std::isnan(v)) std::snprintf(got, sizeof(got), "NaN");
    else if (std::isinf(v)) std::snprintf(got, sizeof(got), v > 0 ? "Infinity" : "-Infinity");
    else std::snprintf(got, sizeof(got), "%.17g", v);
    return RangeError(std::string(what) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                      "], not " + got);
  }
  *out = static_cast<int32_t>(v);
  return true;
}

bool Call::Bool(size_t i, const char* what, bool* out) {
  if (i >= argc_ || napi_get_value_bool(env_, argv_[i], out) != napi_ok) return Missing(i, what, "a boolean");
  return true;
}

bool Call::String(size_t i, const char* what, std::string* out) {
  size_t n = 0;
  if (i >= argc_ || napi_get_value_string_utf8(env_, argv_[i], nullptr, 0, &n) != napi_ok) {
    return Missing(i, what, "a string");
  }
  // Read in place: N-API writes a terminating NUL, which lands on the string's own.
  out->resize(n);
  if (napi_get_value_string_utf8(env_, argv_[i], &(*out)[0], n + 1, &n) != napi_ok) return false;
  out->resize(n);
  if (std::memchr(out->data(), '\0', n) != nullptr) return TypeError(std::string(what) + " must not contain NUL characters");
  return true;
}

bool Call::StringOrNull(size_t i, const char* what, std::string* out, bool* present) {
  napi_valuetype type = napi_undefined;
  if (i < argc_ && napi_typeof(env_, argv_[i], &type) == napi_ok && type == napi_null) {
    *present = false;
    out->clear();
    return true;
  }
  if (i >= argc_ || type != napi_string) return Missing(i, what, "a string or null");
  *present = true;
  return String(i, what, out);
}

bool Call::Bytes(size_t i, const char* what, const uint8_t** data, size_t* length) {
  napi_typedarray_type type;
  void* p = nullptr;
  size_t n = 0;
  // napi_invalid_arg for anything but a typed array; the data pointer already has the offset.
  if (i >= argc_ || napi_get_typedarray_info(env_, argv_[i], &type, &n, &p, nullptr, nullptr) != napi_ok ||
      type != napi_uint8_array) {
    return Missing(i, what, "a Uint8Array");
  }
  *data = static_cast<const uint8_t*>(p);
  // A detached array reports length 0 (and may report no data): nothing to read.
  *length = p == nullptr ? 0 : n;
  return true;
}

bool Call::Function(size_t i, const char* what, napi_value* out) {
  napi_valuetype type = napi_undefined;
  if (i >= argc_ || napi_typeof(env_, argv_[i], &type) != napi_ok || type != napi_function) {
    return Missing(i, what, "a function");
  }
  *out = argv_[i];
  return true;
}

napi_value Call::Number(double value) const {
  napi_value v = nullptr;
  napi_create_double(env_, value, &v);
  return v;
}

napi_value Call::Undefined() const {
  napi_value v = nullptr;
  napi_get_undefined(env_, &v);
  return v;
}

}  // namespace aloop
