#include <string>

#include "check.h"
#include "json.h"

using namespace sy;

static std::string strJson(const char* s, size_t len, size_t maxCp) {
  char buf[256];
  JsonWriter w(buf, sizeof buf);
  w.str(s, len, maxCp);
  CHECK(w.finish());
  return buf;
}

static std::string num(double v, int decimals) {
  char t[32];
  size_t n = formatNumber(v, decimals, t);
  return n == 0 ? "<none>" : std::string(t, n);
}

// The contract refuses controls and U+2028/9 in text (line protocol has no line break): the
// writer puts U+FFFD in their place, as contracts/points.ts does.
TEST(json_escapes_quotes_and_backslashes_and_replaces_what_the_contract_refuses) {
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK_EQ(strJson("a\"b\\c", 5, 64), std::string("\"a\\\"b\\\\c\""));
  CHECK_EQ(strJson("l1\nl2\t\r", 7, 64), "\"l1" + fffd + "l2" + fffd + fffd + "\"");
  const char nul[] = {'x', 0, 0x1f, 0x7f, 'y'};
  CHECK_EQ(strJson(nul, 5, 64), "\"x" + fffd + fffd + fffd + "y\"");
  CHECK_EQ(strJson("a\xC2\x85" "b\xE2\x80\xA8" "c\xE2\x80\xA9", 11, 64), "\"a" + fffd + "b" + fffd + "c" + fffd + "\"");
  CHECK_EQ(strJson("\xC2\xA0\xE2\x80\xA7", 5, 64), std::string("\"\xC2\xA0\xE2\x80\xA7\""));  // NBSP, U+2027: kept
  CHECK(plainText("ok ป", 6) && !plainText("a\nb", 3) && !plainText("\xE2\x80\xA8", 3) && !plainText("\xff", 1));
  CHECK_EQ(strJson("/", 1, 64), std::string("\"/\""));  // need not be escaped
}

TEST(json_writes_ill_formed_utf8_as_replacement_characters) {
  CHECK_EQ(strJson("a\xff" "b", 3, 64), std::string("\"a\xEF\xBF\xBD" "b\""));
  CHECK_EQ(strJson("\xC0\xAF", 2, 64), std::string("\"\xEF\xBF\xBD\xEF\xBF\xBD\""));  // overlong '/'
  CHECK_EQ(strJson("\xED\xA0\x80", 3, 64), std::string("\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""));  // a surrogate
  CHECK_EQ(strJson("\xE0\xB8", 2, 64), std::string("\"\xEF\xBF\xBD\xEF\xBF\xBD\""));  // cut sequence
  CHECK_EQ(strJson("\xE0\xB8\xAA", 3, 64), std::string("\"\xE0\xB8\xAA\""));  // Thai sara, kept
}

TEST(json_cuts_strings_at_code_points_never_inside_one) {
  // "ปั๊ม" is 4 code points of 3 bytes each; the contract counts code points, as zod does.
  const char* pump = "\xE0\xB8\x9B\xE0\xB8\xB1\xE0\xB9\x8A\xE0\xB8\xA1";
  CHECK_EQ(codePoints(pump, 12), size_t(4));
  CHECK_EQ(strJson(pump, 12, 2), std::string("\"\xE0\xB8\x9B\xE0\xB8\xB1\""));
  CHECK_EQ(strJson("abcdef", 6, 3), std::string("\"abc\""));
}

TEST(json_numbers_are_trimmed_and_never_minus_zero_nan_or_infinity) {
  CHECK_EQ(num(12.5, 2), std::string("12.5"));
  CHECK_EQ(num(12.0, 2), std::string("12"));
  CHECK_EQ(num(0.004, 2), std::string("0"));
  CHECK_EQ(num(-0.004, 2), std::string("0"));
  CHECK_EQ(num(-12.345, 1), std::string("-12.3"));
  CHECK_EQ(num(3599.6, 0), std::string("3600"));
  CHECK_EQ(num(10000000000.0, 0), std::string("10000000000"));
  CHECK_EQ(num(NAN, 1), std::string("<none>"));
  CHECK_EQ(num(INFINITY, 1), std::string("<none>"));
  char buf[32];
  JsonWriter w(buf, sizeof buf);
  w.open().key("x").num(NAN, 1).close();
  CHECK(!w.finish());
}

TEST(json_writer_refuses_instead_of_overflowing) {
  char buf[8];
  JsonWriter w(buf, sizeof buf);
  w.open().key("long").str("abcdef", 64).close();
  CHECK(!w.ok());
  CHECK(!w.finish());
}

static bool readAll(const char* text, int* members) {
  char scratch[256];
  JsonReader r(text, strlen(text), scratch, sizeof scratch);
  if (!r.beginObject()) return false;
  Str k;
  JsonValue v;
  *members = 0;
  while (r.next(k, v)) {
    (*members)++;
    if ((v.type == JsonType::Object || v.type == JsonType::Array) && !r.skip()) return false;
  }
  return r.atEnd();
}

TEST(json_reader_accepts_rfc8259_objects) {
  int n = 0;
  CHECK(readAll("{}", &n) && n == 0);
  CHECK(readAll(" {\"a\" : 1 , \"b\":[1,{\"c\":[]}],\"d\":{\"e\":null},\"f\":-0.5e-3,\"g\":true} \n", &n) && n == 5);
  CHECK(readAll("{\"s\":\"\\u00e9\\ud83d\\ude00\\/\"}", &n) && n == 1);
}

TEST(json_reader_refuses_what_json_parse_refuses) {
  int n = 0;
  const char* bad[] = {"", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":01}", "{\"a\":+1}", "{\"a\":1.}",
                       "{\"a\":.5}", "{\"a\":0x10}", "{\"a\":NaN}", "{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}", "{\"a\":tru}",
                       "{\"a\":1} x", "{\"a\":1}{}", "{'a':1}", "{\"a\":[1,]}", "{\"a\":\"unterminated}"};
  for (const char* b : bad) {
    if (readAll(b, &n)) check::fail(__FILE__, __LINE__, std::string("accepted ") + b);
  }
}

TEST(json_reader_limits_depth_without_recursing_without_bound) {
  std::string deep = "{\"a\":";
  for (int i = 0; i < 1000; i++) deep += "[";
  for (int i = 0; i < 1000; i++) deep += "]";
  deep += "}";
  int n = 0;
  CHECK(!readAll(deep.c_str(), &n));
  CHECK(readAll("{\"a\":[[[[1]]]]}", &n));
}

TEST(json_reader_unescapes_into_utf8) {
  const char* text = "{\"s\":\"a\\\"b\\u0e1b\\ud83d\\ude00\\ud800x\"}";
  char scratch[64];
  JsonReader r(text, strlen(text), scratch, sizeof scratch);
  CHECK(r.beginObject());
  Str k;
  JsonValue v;
  CHECK(r.next(k, v));
  CHECK(k.equals("s"));
  CHECK_EQ(std::string(v.s.p, v.s.n), std::string("a\"b\xE0\xB8\x9B\xF0\x9F\x98\x80\xEF\xBF\xBDx"));
}
