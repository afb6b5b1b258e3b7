#include "pg/result.h"

#include <charconv>

namespace pgvigil::pg {

std::optional<std::size_t> Rows::FindColumn(std::string_view name) const {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return i;
  }
  return std::nullopt;
}

std::size_t Rows::Column(std::string_view name) const {
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i] == name) return i;
  }
  throw Error(ErrorKind::kQuery, "query returned no column '" + std::string(name) + "'");
}

std::optional<double> Rows::Number(std::size_t row, std::size_t column) const {
  const auto& value = At(row, column);
  if (!value) return std::nullopt;
  double number = 0;
  const char* begin = value->data();
  const char* end = begin + value->size();
  auto [ptr, ec] = std::from_chars(begin, end, number);
  if (ec != std::errc() || ptr != end) {
    throw Error(ErrorKind::kQuery,
                "expected a number in column " + columns_.at(column) + ", got '" + *value + "'");
  }
  return number;
}

std::string Rows::Text(std::size_t row, std::size_t column, std::string_view if_null) const {
  const auto& value = At(row, column);
  return value ? *value : std::string(if_null);
}

std::optional<bool> Rows::Bool(std::size_t row, std::size_t column) const {
  const auto& value = At(row, column);
  if (!value) return std::nullopt;
  return *value == "t" || *value == "true" || *value == "on";
}

}  // namespace pgvigil::pg
