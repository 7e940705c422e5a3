#include "storage/postgres/pg_placeholders.h"

#include <cctype>

namespace kiln::storage::postgres {
namespace {

bool IsIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || static_cast<unsigned char>(c) >= 0x80;
}

// Index just past the quote closing the literal that opens at `i` (a quote
// char `q`, doubled to escape; backslashes escape too when `backslash`).
size_t SkipQuoted(std::string_view s, size_t i, char q, bool backslash) {
  for (size_t j = i + 1; j < s.size(); ++j) {
    if (backslash && s[j] == '\\') {
      ++j;
      continue;
    }
    if (s[j] == q) {
      if (j + 1 < s.size() && s[j + 1] == q) {
        ++j;
        continue;
      }
      return j + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

StatusOr<RewrittenSql> RewritePlaceholders(std::string_view s) {
  RewrittenSql out;
  out.text.reserve(s.size() + 16);
  bool saw_plain = false;
  bool saw_numbered = false;
  int next = 0;
  size_t i = 0;
  auto unterminated = [&](const char* what) {
    return InvalidArgument(std::string("unterminated ") + what + " in SQL: " + std::string(s));
  };
  while (i < s.size()) {
    const char c = s[i];
    const bool word_start = i == 0 || !IsIdentChar(s[i - 1]);
    size_t end = i;
    if (c == '\'') {
      // E'..' strings take backslash escapes; a plain '..' does not
      // (standard_conforming_strings, on since PostgreSQL 9.1).
      const bool e = i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') && (i == 1 || !IsIdentChar(s[i - 2]));
      end = SkipQuoted(s, i, '\'', e);
      if (end == std::string_view::npos) return unterminated("string literal");
    } else if (c == '"') {
      end = SkipQuoted(s, i, '"', false);
      if (end == std::string_view::npos) return unterminated("quoted identifier");
    } else if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
      end = s.find('\n', i);
      if (end == std::string_view::npos) end = s.size();
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      // PostgreSQL nests block comments.
      int depth = 0;
      size_t j = i;
      while (j + 1 < s.size()) {
        if (s[j] == '/' && s[j + 1] == '*') {
          ++depth;
          j += 2;
        } else if (s[j] == '*' && s[j + 1] == '/') {
          j += 2;
          if (--depth == 0) break;
        } else {
          ++j;
        }
      }
      if (depth != 0) return unterminated("block comment");
      end = j;
    } else if (c == '$' && word_start) {
      // $tag$ ... $tag$ (a `$` after an identifier char is part of a name).
      size_t j = i + 1;
      while (j < s.size() && IsIdentChar(s[j]) && !std::isdigit(static_cast<unsigned char>(s[i + 1]))) ++j;
      if (j < s.size() && s[j] == '$') {
        const std::string_view tag = s.substr(i, j - i + 1);
        size_t close = s.find(tag, j + 1);
        if (close == std::string_view::npos) return unterminated("dollar-quoted string");
        end = close + tag.size();
      }
    } else if (c == '?') {
      size_t j = i + 1;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      int n;
      if (j > i + 1) {
        saw_numbered = true;
        const std::string digits(s.substr(i + 1, j - i - 1));
        if (digits.size() > 5) return InvalidArgument("placeholder number too large in SQL: " + std::string(s));
        n = std::stoi(digits);
        if (n == 0) return InvalidArgument("placeholder ?0 in SQL: " + std::string(s));
      } else {
        saw_plain = true;
        n = ++next;
      }
      if (saw_plain && saw_numbered) {
        return InvalidArgument("SQL mixes ? and ?N placeholders: " + std::string(s));
      }
      if (n > out.params) out.params = n;
      out.text += '$';
      out.text += std::to_string(n);
      i = j;
      continue;
    }
    if (end > i) {
      out.text.append(s.substr(i, end - i));
      i = end;
    } else {
      out.text += c;
      ++i;
    }
  }
  return out;
}

}  // namespace kiln::storage::postgres
