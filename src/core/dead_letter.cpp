#include "laredo/dead_letter.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "laredo/error.hpp"
#include "laredo/error_codes.hpp"

namespace laredo {
namespace {

nlohmann::json ValueToJson(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::Null:
      return nullptr;
    case Value::Kind::Bool:
      return v.AsBool();
    case Value::Kind::Int:
      return v.AsInt();
    case Value::Kind::Double:
      if (std::isfinite(v.AsDouble())) return v.AsDouble();
      return v.ToString();  // JSON has no NaN or infinities
    default:
      return v.ToString();
  }
}

nlohmann::json RowToJson(const Row& row) {
  auto out = nlohmann::json::object();
  for (const auto& [name, value] : row) out[name] = ValueToJson(value);
  return out;
}

}  // namespace

void InMemoryDeadLetterSink::Write(const DeadLetter& letter) {
  std::lock_guard lk(mu_);
  letters_.push_back(letter);
}

std::vector<DeadLetter> InMemoryDeadLetterSink::Letters() const {
  std::lock_guard lk(mu_);
  return letters_;
}

std::size_t InMemoryDeadLetterSink::Count() const {
  std::lock_guard lk(mu_);
  return letters_.size();
}

JsonLinesDeadLetterSink::JsonLinesDeadLetterSink(std::filesystem::path path)
    : path_(std::move(path)), out_(path_, std::ios::app) {
  if (!out_) {
    throw Error(codes::kDeadLetterIo, "cannot open dead-letter file " + path_.string());
  }
}

std::string JsonLinesDeadLetterSink::Format(const DeadLetter& letter) {
  nlohmann::json j;
  j["time"] = fmt::format("{:%FT%T}Z",
                          std::chrono::time_point_cast<std::chrono::microseconds>(letter.time));
  j["pipeline"] = letter.pipeline_id;
  j["table"] = letter.table.ToString();
  j["operation"] = letter.operation;
  j["position"] = letter.position;
  j["error"] = letter.error;
  j["attempts"] = letter.attempts;
  j["new"] = letter.new_values.empty() ? nlohmann::json(nullptr) : RowToJson(letter.new_values);
  j["old"] = letter.old_values.empty() ? nlohmann::json(nullptr) : RowToJson(letter.old_values);
  if (!letter.payload.empty()) j["payload"] = letter.payload;
  // Invalid UTF-8 in text must not make the letter unwritable.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void JsonLinesDeadLetterSink::Write(const DeadLetter& letter) {
  const std::string line = Format(letter);
  std::lock_guard lk(mu_);
  out_ << line << '\n';
  out_.flush();
  if (!out_)
    throw Error(codes::kDeadLetterIo, "writing dead-letter file " + path_.string() + " failed");
}

}  // namespace laredo
