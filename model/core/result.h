// A minimal value-or-error type for the learner core, which depends on LibTorch only (no
// absl): the learner process turns an error into an absl::Status at its edge.
#ifndef IVG_MODEL_CORE_RESULT_H_
#define IVG_MODEL_CORE_RESULT_H_

#include <optional>
#include <string>
#include <utility>

namespace ivg::model {

// An error message, or nothing on success.
using Error = std::optional<std::string>;

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit like StatusOr.
  static Result Failure(std::string message) { return Result(std::move(message), 0); }

  bool ok() const { return value_.has_value(); }
  const std::string& error() const { return error_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T&& consume() { return std::move(*value_); }

 private:
  Result(std::string message, int) : error_(std::move(message)) {}
  std::optional<T> value_;
  std::string error_;
};

}  // namespace ivg::model

#endif  // IVG_MODEL_CORE_RESULT_H_
