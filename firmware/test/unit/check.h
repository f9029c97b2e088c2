// A tiny test runner: TEST(name) { CHECK(...); } registers a test, main() runs them all and
// exits 1 if any check failed. No framework to download.
#pragma once
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

namespace check {

struct Test {
  const char* name;
  void (*fn)();
};
void add(const char* name, void (*fn)());
void fail(const char* file, int line, const std::string& what);

inline std::string show(const std::string& s) { return "\"" + s + "\""; }
inline std::string show(const char* s) { return s ? show(std::string(s)) : "null"; }
inline std::string show(bool v) { return v ? "true" : "false"; }
template <typename T>
std::string show(const T& v) { return std::to_string(v); }

}  // namespace check

#define TEST(name)                                                    \
  static void name();                                                 \
  static const int name##_registered = (check::add(#name, name), 0); \
  static void name()

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond)) check::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define CHECK_EQ(a, b)                                                                                    \
  do {                                                                                                    \
    const auto& check_a = (a);                                                                            \
    const auto& check_b = (b);                                                                            \
    if (!(check_a == check_b))                                                                            \
      check::fail(__FILE__, __LINE__, std::string(#a " == " #b ": ") + check::show(check_a) + " vs " + check::show(check_b)); \
  } while (0)

#define CHECK_NEAR(a, b, eps)                                                                                            \
  do {                                                                                                                   \
    const double check_a = (a), check_b = (b);                                                                           \
    if (!(std::fabs(check_a - check_b) <= (eps)))                                                                        \
      check::fail(__FILE__, __LINE__, std::string(#a " ~ " #b ": ") + std::to_string(check_a) + " vs " + std::to_string(check_b)); \
  } while (0)
