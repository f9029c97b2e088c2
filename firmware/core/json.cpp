#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sy {

// --- writer ---

void JsonWriter::put(char c) {
  if (len_ + 1 >= cap_) { ok_ = false; return; }  // keep one byte for finish()'s NUL
  buf_[len_++] = c;
}

void JsonWriter::puts(const char* s, size_t n) {
  for (size_t i = 0; i < n && ok_; i++) put(s[i]);
}

void JsonWriter::sep() {
  if (!first_) put(',');
  first_ = false;
}

JsonWriter& JsonWriter::open() { put('{'); first_ = true; return *this; }
JsonWriter& JsonWriter::close() { put('}'); first_ = false; return *this; }

JsonWriter& JsonWriter::key(const char* k) {
  sep();
  put('"');
  puts(k, strlen(k));  // keys are the contract's own names: nothing to escape
  put('"');
  put(':');
  return *this;
}

// Length of the UTF-8 sequence starting at s[i], or 0 when it is ill-formed (RFC 3629 §4:
// no overlongs, no surrogates, nothing above U+10FFFF).
static size_t utf8Seq(const unsigned char* s, size_t i, size_t len) {
  unsigned char c = s[i];
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > len) return 0;
  for (size_t k = 1; k < n; k++) if ((s[i + k] & 0xC0) != 0x80) return 0;
  if (c == 0xE0 && s[i + 1] < 0xA0) return 0;  // overlong
  if (c == 0xED && s[i + 1] > 0x9F) return 0;  // surrogate
  if (c == 0xF0 && s[i + 1] < 0x90) return 0;  // overlong
  if (c == 0xF4 && s[i + 1] > 0x8F) return 0;  // above U+10FFFF
  return n;
}

size_t codePoints(const char* s, size_t len) {
  const unsigned char* u = reinterpret_cast<const unsigned char*>(s);
  size_t n = 0;
  for (size_t i = 0; i < len; n++) {
    size_t k = utf8Seq(u, i, len);
    i += k == 0 ? 1 : k;
  }
  return n;
}

// The contract's text fields refuse controls (C0, DEL, C1) and U+2028/U+2029: InfluxDB's line
// protocol cannot carry a line break (contracts/payloads.ts). `k` is the sequence's length.
static bool refusedInText(const unsigned char* s, size_t i, size_t k) {
  unsigned char c = s[i];
  if (k == 1) return c < 0x20 || c == 0x7F;
  if (k == 2) return c == 0xC2 && s[i + 1] <= 0x9F;
  if (k == 3) return c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9);
  return false;
}

bool plainText(const char* s, size_t len) {
  const unsigned char* u = reinterpret_cast<const unsigned char*>(s);
  for (size_t i = 0; i < len;) {
    size_t k = utf8Seq(u, i, len);
    if (k == 0 || refusedInText(u, i, k)) return false;
    i += k;
  }
  return true;
}

// RFC 8259 §7: '"' and '\' are escaped. Ill-formed UTF-8, and what the contract refuses in a
// text field (refusedInText), are written as U+FFFD, so the payload is always valid UTF-8 text
// the contract accepts. At most maxCodePoints are written (the contract's maxLength counts code
// points, as zod and JSON Schema do).
JsonWriter& JsonWriter::str(const char* s, size_t len, size_t maxCodePoints) {
  const unsigned char* u = reinterpret_cast<const unsigned char*>(s);
  put('"');
  size_t written = 0;
  for (size_t i = 0; i < len && written < maxCodePoints && ok_; written++) {
    unsigned char c = u[i];
    size_t k = utf8Seq(u, i, len);
    if (k == 0) { puts("\xEF\xBF\xBD", 3); i++; continue; }
    if (refusedInText(u, i, k)) puts("\xEF\xBF\xBD", 3);
    else if (c == '"' || c == '\\') { put('\\'); put(static_cast<char>(c)); }
    else puts(s + i, k);
    i += k;
  }
  put('"');
  return *this;
}

JsonWriter& JsonWriter::str(const char* s, size_t maxCodePoints) { return str(s, strlen(s), maxCodePoints); }

JsonWriter& JsonWriter::u64(uint64_t v) {
  char t[24];
  int n = snprintf(t, sizeof t, "%llu", static_cast<unsigned long long>(v));
  puts(t, static_cast<size_t>(n));
  return *this;
}

JsonWriter& JsonWriter::i64(int64_t v) {
  char t[24];
  int n = snprintf(t, sizeof t, "%lld", static_cast<long long>(v));
  puts(t, static_cast<size_t>(n));
  return *this;
}

size_t formatNumber(double v, int decimals, char* out) {
  if (!std::isfinite(v) || std::fabs(v) >= 1e15) return 0;  // every contract range is far below
  if (decimals < 0) decimals = 0;
  if (decimals > 6) decimals = 6;
  int n = snprintf(out, 32, "%.*f", decimals, v);
  if (n <= 0 || n >= 32) return 0;
  if (decimals > 0) {
    while (n > 0 && out[n - 1] == '0') n--;
    if (n > 0 && out[n - 1] == '.') n--;
  }
  out[n] = '\0';
  if (strcmp(out, "-0") == 0) { out[0] = '0'; out[1] = '\0'; n = 1; }
  return static_cast<size_t>(n);
}

JsonWriter& JsonWriter::num(double v, int decimals) {
  char t[32];
  size_t n = formatNumber(v, decimals, t);
  if (n == 0) { ok_ = false; return *this; }  // JSON has no NaN or Infinity (RFC 8259 §6)
  puts(t, n);
  return *this;
}

JsonWriter& JsonWriter::boolean(bool v) { if (v) puts("true", 4); else puts("false", 5); return *this; }
JsonWriter& JsonWriter::null() { puts("null", 4); return *this; }
JsonWriter& JsonWriter::raw(const char* s, size_t n) { puts(s, n); return *this; }

bool JsonWriter::finish() {
  if (!ok_ || len_ >= cap_) return ok_ = false;
  buf_[len_] = '\0';
  return true;
}

// --- reader ---

bool Str::equals(const char* lit) const {
  size_t litLen = strlen(lit);
  return litLen == n && memcmp(p, lit, litLen) == 0;
}

void JsonReader::ws() {
  while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) p_++;
}

bool JsonReader::beginObject() {
  ws();
  if (p_ >= end_ || *p_ != '{' || depth_ >= kMaxDepth) return fail();
  p_++;
  depth_++;
  firstMember_[depth_] = true;
  return true;
}

bool JsonReader::putUtf8(uint32_t cp) {
  char b[4];
  size_t n;
  if (cp < 0x80) { b[0] = static_cast<char>(cp); n = 1; }
  else if (cp < 0x800) { b[0] = static_cast<char>(0xC0 | (cp >> 6)); b[1] = static_cast<char>(0x80 | (cp & 0x3F)); n = 2; }
  else if (cp < 0x10000) {
    b[0] = static_cast<char>(0xE0 | (cp >> 12)); b[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    b[2] = static_cast<char>(0x80 | (cp & 0x3F)); n = 3;
  } else {
    b[0] = static_cast<char>(0xF0 | (cp >> 18)); b[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    b[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F)); b[3] = static_cast<char>(0x80 | (cp & 0x3F)); n = 4;
  }
  if (used_ + n > cap_) return fail();
  memcpy(scratch_ + used_, b, n);
  used_ += n;
  return true;
}

static int hex4(const char* p) {
  int v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

// RFC 8259 §7. A lone surrogate (legal JSON, not a code point) becomes U+FFFD, and the string
// says so (`replaced`): a field that must be kept exactly can refuse it.
bool JsonReader::string(Str& out) {
  if (p_ >= end_ || *p_ != '"') return fail();
  p_++;
  size_t start = used_;
  bool replaced = false;
  while (p_ < end_ && *p_ != '"') {
    unsigned char c = static_cast<unsigned char>(*p_);
    if (c < 0x20) return fail();
    if (c != '\\') {
      if (used_ >= cap_) return fail();
      scratch_[used_++] = *p_++;
      continue;
    }
    if (++p_ >= end_) return fail();
    char e = *p_++;
    uint32_t cp;
    switch (e) {
      case '"': cp = '"'; break;
      case '\\': cp = '\\'; break;
      case '/': cp = '/'; break;
      case 'b': cp = '\b'; break;
      case 'f': cp = '\f'; break;
      case 'n': cp = '\n'; break;
      case 'r': cp = '\r'; break;
      case 't': cp = '\t'; break;
      case 'u': {
        if (end_ - p_ < 4) return fail();
        int h = hex4(p_);
        if (h < 0) return fail();
        p_ += 4;
        cp = static_cast<uint32_t>(h);
        if (cp >= 0xD800 && cp <= 0xDBFF && end_ - p_ >= 6 && p_[0] == '\\' && p_[1] == 'u') {
          int lo = hex4(p_ + 2);
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<uint32_t>(lo) - 0xDC00);
            p_ += 6;
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) {
          cp = 0xFFFD;
          replaced = true;
        }
        break;
      }
      default: return fail();
    }
    if (!putUtf8(cp)) return false;
  }
  if (p_ >= end_) return fail();
  p_++;
  out.p = scratch_ + start;
  out.n = used_ - start;
  out.replaced = replaced;
  return true;
}

// RFC 8259 §6 grammar, checked before strtod (which accepts more: hex, "inf", leading '+').
bool JsonReader::number(double& out) {
  const char* s = p_;
  const char* q = p_;
  if (q < end_ && *q == '-') q++;
  if (q >= end_) return fail();
  if (*q == '0') q++;
  else if (*q >= '1' && *q <= '9') while (q < end_ && *q >= '0' && *q <= '9') q++;
  else return fail();
  if (q < end_ && *q == '.') {
    q++;
    if (q >= end_ || *q < '0' || *q > '9') return fail();
    while (q < end_ && *q >= '0' && *q <= '9') q++;
  }
  if (q < end_ && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < end_ && (*q == '+' || *q == '-')) q++;
    if (q >= end_ || *q < '0' || *q > '9') return fail();
    while (q < end_ && *q >= '0' && *q <= '9') q++;
  }
  char tmp[64];
  size_t n = static_cast<size_t>(q - s);
  if (n >= sizeof tmp) return fail();
  memcpy(tmp, s, n);
  tmp[n] = '\0';
  out = strtod(tmp, nullptr);
  p_ = q;
  return true;
}

static bool lit(const char*& p, const char* end, const char* word) {
  size_t n = strlen(word);
  if (static_cast<size_t>(end - p) < n || memcmp(p, word, n) != 0) return false;
  p += n;
  return true;
}

bool JsonReader::value(JsonValue& v) {
  ws();
  if (p_ >= end_) return fail();
  v = JsonValue();
  switch (*p_) {
    case '{': v.type = JsonType::Object; return true;  // left for beginObject() or skip()
    case '[': v.type = JsonType::Array; return true;
    case '"': v.type = JsonType::String; return string(v.s);
    case 't': v.type = JsonType::Bool; v.b = true; return lit(p_, end_, "true") || fail();
    case 'f': v.type = JsonType::Bool; v.b = false; return lit(p_, end_, "false") || fail();
    case 'n': v.type = JsonType::Null; return lit(p_, end_, "null") || fail();
    default: v.type = JsonType::Number; return number(v.num);
  }
}

bool JsonReader::skipValue(int depth) {
  if (depth > kMaxDepth) return fail();
  JsonValue v;
  if (!value(v)) return false;
  if (v.type != JsonType::Object && v.type != JsonType::Array) return true;
  char closer = v.type == JsonType::Object ? '}' : ']';
  p_++;
  ws();
  if (p_ < end_ && *p_ == closer) { p_++; return true; }
  for (;;) {
    if (v.type == JsonType::Object) {
      Str k;
      ws();
      size_t mark = used_;
      if (!string(k)) return false;
      used_ = mark;  // skipped keys need no room
      ws();
      if (p_ >= end_ || *p_++ != ':') return fail();
    }
    size_t mark = used_;
    if (!skipValue(depth + 1)) return false;
    used_ = mark;
    ws();
    if (p_ >= end_) return fail();
    if (*p_ == ',') { p_++; continue; }
    if (*p_ == closer) { p_++; return true; }
    return fail();
  }
}

bool JsonReader::skip() { return skipValue(depth_); }

bool JsonReader::next(Str& key, JsonValue& value_) {
  if (failed_ || depth_ == 0) return false;
  ws();
  if (p_ >= end_) return fail();
  if (firstMember_[depth_]) {
    firstMember_[depth_] = false;
    if (*p_ == '}') { p_++; depth_--; return false; }
  } else {
    if (*p_ == '}') { p_++; depth_--; return false; }
    if (*p_ != ',') return fail();
    p_++;
    ws();
  }
  if (!string(key)) return false;
  ws();
  if (p_ >= end_ || *p_ != ':') return fail();
  p_++;
  return value(value_);
}

bool JsonReader::atEnd() {
  ws();
  return !failed_ && depth_ == 0 && p_ == end_;
}

}  // namespace sy
