// A JSON writer into a fixed buffer and a small reader for command payloads. No allocation:
// the writer fails (ok() == false) instead of growing, the reader works on the caller's bytes.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sy {

class JsonWriter {
 public:
  JsonWriter(char* buf, size_t cap) : buf_(buf), cap_(cap) {}
  // Structure. key() writes the separator when needed.
  JsonWriter& open();
  JsonWriter& close();
  JsonWriter& key(const char* k);
  // Values.
  JsonWriter& str(const char* s, size_t len, size_t maxCodePoints);
  JsonWriter& str(const char* s, size_t maxCodePoints);
  JsonWriter& u64(uint64_t v);
  JsonWriter& i64(int64_t v);
  // A finite number with at most `decimals` decimals, trailing zeros trimmed ("12.5", "3", "0").
  JsonWriter& num(double v, int decimals);
  JsonWriter& boolean(bool v);
  JsonWriter& null();
  // Raw bytes (an already encoded fragment).
  JsonWriter& raw(const char* s, size_t len);
  bool ok() const { return ok_; }
  size_t size() const { return len_; }
  const char* data() const { return buf_; }
  // Terminates the text with NUL (not counted in size()); false when it does not fit.
  bool finish();

 private:
  void put(char c);
  void puts(const char* s, size_t n);
  void sep();
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
  bool ok_ = true;
  bool first_ = true;  // no comma before the next member
};

// Writes `v` with `decimals` decimals, trimmed, into out (>= 32 bytes). Returns the length, 0
// for a non-finite value. Never "-0".
size_t formatNumber(double v, int decimals, char* out);

// Code points of well-formed UTF-8 (an ill-formed byte counts as one: it is written as U+FFFD).
size_t codePoints(const char* s, size_t len);
// True when the text holds nothing the contract refuses in a text field (controls, U+2028/9,
// ill-formed UTF-8).
bool plainText(const char* s, size_t len);

// A borrowed string (may contain NUL); the bytes live in the reader's scratch buffer.
struct Str {
  const char* p = nullptr;
  size_t n = 0;
  // A lone surrogate escape was read as U+FFFD: the text is not the one that was sent.
  bool replaced = false;
  bool equals(const char* lit) const;
};

enum class JsonType : uint8_t { None, Null, Bool, Number, String, Object, Array };

struct JsonValue {
  JsonType type = JsonType::None;
  bool b = false;
  double num = 0;
  Str s;
};

// Reads a top-level object member by member. Strings are unescaped into `scratch`; nested
// objects are visited with enter()/next() on the same reader. Depth-limited, never recursive
// beyond kMaxDepth, so a hostile payload cannot exhaust the stack.
class JsonReader {
 public:
  static constexpr int kMaxDepth = 8;
  JsonReader(const char* text, size_t len, char* scratch, size_t scratchCap)
      : p_(text), end_(text + len), scratch_(scratch), cap_(scratchCap) {}
  // Expects '{' at the start (after spaces).
  bool beginObject();
  // Next member of the innermost open object: false at its end (or on error; see failed()).
  // A member whose value is an object is reported with type Object and left unread: call
  // beginObject() to read it or skip() to pass over it.
  bool next(Str& key, JsonValue& value);
  // Skips the object or array value just reported.
  bool skip();
  // True when the text was not valid JSON (or too deep / too long for scratch).
  bool failed() const { return failed_; }
  // After the top-level object: only whitespace may follow.
  bool atEnd();

 private:
  void ws();
  bool string(Str& out);
  bool number(double& out);
  bool value(JsonValue& v);
  bool skipValue(int depth);
  bool fail() { failed_ = true; return false; }
  bool putUtf8(uint32_t cp);
  const char* p_;
  const char* end_;
  char* scratch_;
  size_t cap_;
  size_t used_ = 0;
  int depth_ = 0;
  bool firstMember_[kMaxDepth + 1] = {};
  bool failed_ = false;
};

}  // namespace sy
