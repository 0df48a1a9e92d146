// Calls from JS into the addon, checked. The binding (build/Release/aloop.node) can be required
// by anyone, so each entry point checks `this` and every argument, and answers misuse with a
// TypeError naming the argument or a RangeError: never a crash, never an abort.
//
//   Call            one call: `this`, the arguments, and readers that check each one
//   Wrap / Unwrap   C++ objects owned by JS objects; an argument is recognised by its type tag
//                   (napi_type_tag_object): `Object.create(Loop.prototype)`, an object of the
//                   other class or another addon's wrapped object is refused, not reinterpreted
//   Method<T, &T::M>  the N-API callback of a method: checks `this`, then calls T::M(Call&)
//
// Nothing here is ever fatal. Once a worker is being terminated, N-API calls that need JS
// (napi_unwrap, napi_coerce_to_bool, napi_throw, ...) fail with napi_pending_exception
// (napi_cannot_run_js on newer Node-API versions) while JS is still calling in; node-addon-api
// answers the failure with napi_throw, which fails too, and then with napi_fatal_error
// ("Error::ThrowAsJavaScriptException napi_throw"), which aborts the whole process. Here a call
// that fails makes the entry point return quietly: the environment is going away, and its
// cleanup hook (addon.cc) closes every handle.
#ifndef ALOOP_CALL_H_
#define ALOOP_CALL_H_

#include <node_api.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace aloop {

/** Throws unless the environment can no longer run JS (then nothing happens: never fatal). */
void ThrowTypeError(napi_env env, const std::string& message);
void ThrowRangeError(napi_env env, const std::string& message);
void ThrowError(napi_env env, const std::string& message);

/**
 * One call from JS. `name` (the descriptor's data, e.g. "Io.write") prefixes every message. Each
 * reader returns false after throwing (or when the environment is terminating); the caller then
 * returns nullptr at once.
 */
class Call {
 public:
  static constexpr size_t kMaxArgs = 8;

  Call(napi_env env, napi_callback_info info);

  napi_env env() const { return env_; }
  napi_value self() const { return self_; }
  const char* name() const { return name_; }
  /** napi_get_cb_info succeeded. */
  bool ok() const { return ok_; }
  size_t argc() const { return argc_; }
  napi_value arg(size_t i) const { return i < argc_ ? argv_[i] : nullptr; }

  /** A number that is an integer in [lo, hi]: TypeError for any other type, else RangeError. */
  bool Int(size_t i, const char* what, int32_t lo, int32_t hi, int32_t* out);
  /** A boolean, strictly (no truthiness). */
  bool Bool(size_t i, const char* what, bool* out);
  /** A string without NUL (C strings would end there, silently shortened). */
  bool String(size_t i, const char* what, std::string* out);
  /** A string as String(), or null (`*present` false). */
  bool StringOrNull(size_t i, const char* what, std::string* out, bool* present);
  /** A Uint8Array (a Buffer is one): its bytes, valid for the duration of the call. */
  bool Bytes(size_t i, const char* what, const uint8_t** data, size_t* length);
  bool Function(size_t i, const char* what, napi_value* out);

  /** Throws "<name>: <message>"; returns false (for `return c.TypeError(...)` in readers). */
  bool TypeError(const std::string& message) const;
  bool RangeError(const std::string& message) const;

  napi_value Number(double value) const;
  napi_value Undefined() const;

 private:
  bool Missing(size_t i, const char* what, const char* expected) const;

  napi_env env_;
  napi_value self_ = nullptr;
  const char* name_ = "aloop";
  size_t argc_ = kMaxArgs;
  napi_value argv_[kMaxArgs];
  bool ok_ = false;
};

/**
 * Gives JS object `object` ownership of `native` (deleted when the object is collected or the
 * environment ends) and tags it as a T. False, with `native` deleted, if either fails.
 */
template <typename T>
bool Wrap(napi_env env, napi_value object, T* native) {
  if (napi_wrap(env, object, native, [](napi_env, void* data, void*) { delete static_cast<T*>(data); }, nullptr,
                nullptr) != napi_ok) {
    delete native;
    return false;
  }
  // Untagged, the object is refused by every method; its finalizer still deletes `native`.
  return napi_type_tag_object(env, object, &T::kTypeTag) == napi_ok;
}

/**
 * The T owned by `object`, or nullptr: a TypeError "<name>: <what> must be a <T::kClassName>"
 * is thrown when `object` is anything else (unless the environment is terminating).
 */
template <typename T>
T* Unwrap(const Call& c, napi_value object, const char* what) {
  bool tagged = false;
  const napi_status status = napi_check_object_type_tag(c.env(), object, &T::kTypeTag, &tagged);
  if (status == napi_object_expected || (status == napi_ok && !tagged)) {
    c.TypeError(std::string(what) + " must be a " + T::kClassName);
    return nullptr;
  }
  if (status != napi_ok) return nullptr;  // the environment is terminating
  void* native = nullptr;
  if (napi_unwrap(c.env(), object, &native) != napi_ok) return nullptr;
  return static_cast<T*>(native);
}

/**
 * The N-API callback of method T::M. V8 has checked `this` already: the methods of a class made
 * by napi_define_class carry its signature, so a receiver that T's constructor did not make
 * ({}, Object.create(T.prototype), an object of the other class) is refused with "Illegal
 * invocation" before this runs, at no cost here. What is left is a T whose construction failed:
 * not wrapped, refused below. (Arguments get no such check: Unwrap checks their type tag.)
 */
template <typename T, napi_value (T::*M)(Call&)>
napi_value Method(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok()) return nullptr;
  void* native = nullptr;
  if (napi_unwrap(env, c.self(), &native) != napi_ok || native == nullptr) {
    c.TypeError(std::string("this must be a ") + T::kClassName);  // quiet while terminating
    return nullptr;
  }
  return (static_cast<T*>(native)->*M)(c);
}

/** A method's property descriptor; its name is also the prefix of its error messages. */
template <typename T, napi_value (T::*M)(Call&)>
napi_property_descriptor MethodProperty(const char* name, const char* qualified_name) {
  napi_property_descriptor d{};
  d.utf8name = name;
  d.method = Method<T, M>;
  d.attributes = napi_default_method;
  d.data = const_cast<char*>(qualified_name);
  return d;
}

/** Defines the JS class `name` (constructor `ctor`) with `methods`; null if N-API refused. */
template <size_t N>
napi_value DefineClass(napi_env env, const char* name, napi_callback ctor, const napi_property_descriptor (&methods)[N]) {
  napi_value cls = nullptr;
  napi_define_class(env, name, NAPI_AUTO_LENGTH, ctor, const_cast<char*>(name), N, methods, &cls);
  return cls;
}

}  // namespace aloop

#endif  // ALOOP_CALL_H_
