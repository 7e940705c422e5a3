#include "audit/json_check.h"

#include <cstdint>
#include <vector>

namespace kiln::audit {
namespace {

constexpr size_t kMaxDepth = 256;

class Checker {
 public:
  explicit Checker(std::string_view t) : p_(t.data()), end_(t.data() + t.size()) {}

  bool Document() {
    Ws();
    if (!Value()) return false;
    Ws();
    return p_ == end_;
  }

 private:
  void Ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  bool Digits() {
    const char* start = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ > start;
  }

  bool Number() {
    if (p_ < end_ && *p_ == '-') ++p_;
    if (p_ < end_ && *p_ == '0') {
      ++p_;
    } else if (p_ >= end_ || *p_ < '1' || *p_ > '9' || !Digits()) {
      return false;
    }
    if (p_ < end_ && *p_ == '.') {
      ++p_;
      if (!Digits()) return false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!Digits()) return false;
    }
    return true;
  }

  static bool Hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
  static uint32_t HexValue(const char* s) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s[i];
      v = v * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
  }

  // One \uXXXX escape (p_ after the 'u'); surrogates must pair, as a parser
  // decoding them would otherwise fail or substitute.
  bool UnicodeEscape() {
    if (end_ - p_ < 4 || !Hex(p_[0]) || !Hex(p_[1]) || !Hex(p_[2]) || !Hex(p_[3])) return false;
    uint32_t cp = HexValue(p_);
    p_ += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (end_ - p_ < 6 || p_[0] != '\\' || p_[1] != 'u') return false;
      if (!Hex(p_[2]) || !Hex(p_[3]) || !Hex(p_[4]) || !Hex(p_[5])) return false;
      uint32_t low = HexValue(p_ + 2);
      if (low < 0xDC00 || low > 0xDFFF) return false;
      p_ += 6;
    }
    return true;
  }

  // One UTF-8 sequence starting at a byte >= 0x80 (shortest form, no
  // surrogates, at most U+10FFFF).
  bool Utf8() {
    const auto b0 = static_cast<unsigned char>(*p_);
    int n = 0;
    uint32_t min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 2;
      min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 3;
      min = 0x10000;
    } else {
      return false;
    }
    if (end_ - p_ <= n) return false;
    uint32_t cp = b0 & (0x3F >> n);
    for (int i = 1; i <= n; ++i) {
      const auto b = static_cast<unsigned char>(p_[i]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p_ += n + 1;
    return true;
  }

  bool String() {
    ++p_;  // the opening quote
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++p_ >= end_) return false;
        const char e = *p_++;
        if (e == 'u') {
          if (!UnicodeEscape()) return false;
        } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') {
          return false;
        }
      } else if (c >= 0x80) {
        if (!Utf8()) return false;
      } else {
        ++p_;
      }
    }
    return false;
  }

  bool Value() {
    if (p_ >= end_) return false;
    switch (*p_) {
      case '{': return Container('}');
      case '[': return Container(']');
      case '"': return String();
      case 't': return Literal("true");
      case 'f': return Literal("false");
      case 'n': return Literal("null");
      default: return Number();
    }
  }

  bool Container(char close) {
    if (++depth_ > kMaxDepth) return false;
    ++p_;
    Ws();
    if (p_ < end_ && *p_ == close) {
      ++p_;
      --depth_;
      return true;
    }
    while (true) {
      if (close == '}') {
        if (p_ >= end_ || *p_ != '"' || !String()) return false;
        Ws();
        if (p_ >= end_ || *p_ != ':') return false;
        ++p_;
        Ws();
      }
      if (!Value()) return false;
      Ws();
      if (p_ >= end_) return false;
      if (*p_ == ',') {
        ++p_;
        Ws();
        continue;
      }
      if (*p_ != close) return false;
      ++p_;
      --depth_;
      return true;
    }
  }

  const char* p_;
  const char* end_;
  size_t depth_ = 0;
};

}  // namespace

bool IsValidJson(std::string_view text) { return Checker(text).Document(); }

}  // namespace kiln::audit
